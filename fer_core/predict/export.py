"""Export a fer checkpoint to ONNX or TorchScript. Both exports output probabilities and carry the fer metadata."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.checkpoint import FORMAT, FORMAT_VERSION, REQUIRED_KEYS, load_checkpoint, resolve_checkpoint
from fer_core.errors import CheckpointError, FerError, UsageError

if TYPE_CHECKING:
    from torch import nn

FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
ONNX_OPSET = 17
METADATA_KEY = "fer"
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"


def probability_model(model: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(model.eval(), nn.Softmax(dim=1)).eval()


def example_input(meta: dict[str, Any], batch: int = 2) -> Any:
    import torch

    size = int(meta["input_size"])
    return torch.zeros(batch, int(meta["in_channels"]), size, size)


def onnx_bytes(model: nn.Module, meta: dict[str, Any]) -> bytes:
    """The model plus a softmax as ONNX (opset 17, dynamic batch axis), with the fer metadata in ``metadata_props``.

    Uses the TorchScript-based exporter: the torch.export-based one needs the extra ``onnxscript`` package.
    """
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            probability_model(model),
            (example_input(meta),),
            buffer,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(meta, default=atomic._json_default)})
    return proto.SerializeToString()


def torchscript_module(model: nn.Module, meta: dict[str, Any]) -> Any:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(probability_model(model), example_input(meta))


def default_output(checkpoint: Path, fmt: str) -> Path:
    return checkpoint.with_name(checkpoint.name.removesuffix(checkpoint.suffix) + FORMATS[fmt])


def export_checkpoint(checkpoint: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the export and a ``.json`` sidecar with the fer metadata next to it; return the export's path."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format '{fmt}'; choose from {', '.join(FORMATS)}")
    weights = resolve_checkpoint(checkpoint)
    model, meta = load_checkpoint(weights)
    target = Path(out) if out is not None else default_output(weights, fmt)
    if target.is_dir():
        target = default_output(target / weights.name, fmt)
    # The exported graph holds float weights whatever the checkpoint stored, so it is a plain version-1 artefact.
    plain = {k: v for k, v in meta.items() if k != "weight_encoding"}
    exported = {**plain, "format_version": FORMAT_VERSION, "exported_from": str(weights), "export_format": fmt}
    if fmt == "onnx":
        try:
            data = onnx_bytes(model, exported)
        except ImportError:
            raise FerError("ONNX export needs the onnx package: pip install 'fer-core[onnx]'") from None
        atomic.write_with(target, lambda tmp: tmp.write_bytes(data))
    else:
        import torch

        module = torchscript_module(model, exported)
        text = json.dumps(exported, default=atomic._json_default)
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated upstream but still what C++/mobile load
            torch.jit.save(module, buffer, _extra_files={"fer.json": text})
        # Written by Python, not by torch's C++ writer, which aborts the process on a full disk.
        atomic.write_with(target, lambda tmp: tmp.write_bytes(buffer.getvalue()))
    atomic.write_json(sidecar_path(target), exported)
    return target


def sidecar_path(export: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``: the metadata stays readable without onnx or torch."""
    return export.with_name(export.name + ".json")


def parse_export_metadata(text: str | None, source: Path | str) -> dict[str, Any]:
    """Validate the fer metadata carried by an export, as ``read_metadata`` does for checkpoints."""
    if not text:
        raise CheckpointError(f"{source}: not a fer export (no '{METADATA_KEY}' metadata); make one with `fer export`")
    try:
        meta = json.loads(text)
    except ValueError:
        raise CheckpointError(f"{source}: its fer metadata is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not a fer export (metadata format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{source}: written by a newer fer (format {meta['format_version']}); upgrade fer-core")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"{source}: fer metadata lacks {', '.join(missing)}")
    classes = meta["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise CheckpointError(f"{source}: its fer metadata 'classes' must be a non-empty list of names, not {classes!r:.60}")
    return meta
