"""Checkpoints: safetensors weights plus JSON metadata, both in the file's header and in a sidecar.

The metadata holds everything predict needs to rebuild and feed the model (plugin name and
options, classes, input size, preprocessing) and everything a reader needs to trust it
(command, seed, data protocol, validation metrics, versions). Pickles are never loaded.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic, checkpoint_meta
from fer_core.errors import CheckpointError, UnknownPluginError

if TYPE_CHECKING:
    from torch import nn

FORMAT = checkpoint_meta.FORMAT
FORMAT_VERSION = 1
# Version 2 marks weights stored in an encoding (``weight_encoding``, e.g. int8) that fer-core before it cannot read.
ENCODED_FORMAT_VERSION = checkpoint_meta.MAX_FORMAT_VERSION
WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"
REQUIRED_KEYS = ("model", "classes", "in_channels", "input_size", "preprocessing")
PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".h5", ".hdf5"}


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any], *, int8: bool = False) -> Path:
    """Write ``<stem>.safetensors`` and ``<stem>.json`` atomically; return the weights path.

    ``int8`` stores conv and linear weights as int8 with per-channel scales (``fer_core.quantize``), about a quarter
    of float32; loading restores float32 weights.
    """
    from safetensors.torch import save_file, save_model

    from fer_core import quantize

    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    weights = _weights_path_for_writing(Path(path))
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "weight_encoding")}
    if isinstance(meta.get("data"), dict) and isinstance(meta["data"].get("options"), dict):  # never record where fer writes
        meta["data"] = {**meta["data"], "options": checkpoint_meta.portable_data_options(meta["data"]["options"])}
    encoded = {"format_version": ENCODED_FORMAT_VERSION, "weight_encoding": quantize.ENCODING} if int8 else {}
    full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **encoded, **meta}
    text = json.dumps(full_meta, default=atomic._json_default)
    if int8:
        stored = quantize.quantize_state(model.state_dict())
        atomic.write_with(weights, lambda tmp: save_file(stored, str(tmp), metadata={"fer": text}))
    else:
        atomic.write_with(weights, lambda tmp: save_model(model, str(tmp), metadata={"fer": text}))
    atomic.write_json(weights.with_suffix(SIDECAR_SUFFIX), full_meta)
    return weights


def _weights_path_for_writing(path: Path) -> Path:
    if path.suffix == WEIGHTS_SUFFIX:
        return path
    if path.suffix == SIDECAR_SUFFIX:
        return path.with_suffix(WEIGHTS_SUFFIX)
    return path.with_name(path.name + WEIGHTS_SUFFIX)


def resolve_checkpoint(path: str | Path) -> Path:
    """Accept ``x.safetensors``, ``x.json``, the stem ``x`` or a folder holding one checkpoint."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob(f"*{WEIGHTS_SUFFIX}"))
        preferred = [p for p in found if p.stem in ("best", "model")]
        if len(found) == 1 or preferred:
            return (preferred or found)[0]
        if not found:
            raise CheckpointError(f"{path}: no *.safetensors checkpoint in this folder")
        raise CheckpointError(f"{path}: several checkpoints here ({', '.join(p.name for p in found)}); name one")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: refusing to load a pickle-based file; fer loads only .safetensors checkpoints with fer metadata")
    if path.suffix == SIDECAR_SUFFIX:
        path = path.with_suffix(WEIGHTS_SUFFIX)
    elif path.suffix != WEIGHTS_SUFFIX:
        path = path.with_name(path.name + WEIGHTS_SUFFIX)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Read the fer metadata from a safetensors header without touching the weights."""
    weights = resolve_checkpoint(path)
    with open(weights, "rb") as handle:
        head = handle.read(8)
        if len(head) != 8:
            raise CheckpointError(f"{weights}: not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", head)
        if length <= 1 or length > 100_000_000:
            raise CheckpointError(f"{weights}: not a safetensors file (bad header length); fer never unpickles files")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
        meta = json.loads(header["__metadata__"]["fer"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CheckpointError(f"{weights}: not a fer checkpoint (no fer metadata in the safetensors header)") from None
    return checkpoint_meta.validate(meta, weights)


def build_model(meta: dict[str, Any], where: str | Path = "checkpoint") -> nn.Module:
    """The model ``meta`` describes, built to receive stored weights: no pretrained file is read whatever the options say."""
    from fer_core.pretrained import rebuilding
    from fer_core.registry import get_registry

    registry = get_registry()
    name = meta["model"]
    try:
        registry.get("models", name)
    except UnknownPluginError as exc:
        raise _missing_plugin_error(meta, where, exc) from None
    options = checkpoint_meta.rebuild_options(meta.get("model_options") or {})
    with rebuilding():
        plugin = registry.create("models", name, **options)
        return plugin.build(num_classes=len(meta["classes"]), in_channels=int(meta["in_channels"]), input_size=int(meta["input_size"]))


def _missing_plugin_error(meta: dict[str, Any], where: str | Path, exc: UnknownPluginError) -> CheckpointError:
    from importlib.metadata import PackageNotFoundError, distribution

    hint = checkpoint_meta.install_hint(meta)
    if hint is not None:
        try:
            distribution(str((meta.get("plugin") or {}).get("distribution")))
        except PackageNotFoundError:
            return CheckpointError(f"{where}: model '{meta['model']}' comes from distribution {hint}")
    return CheckpointError(f"{where}: {exc}")


def recorded_data(meta: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(spec, options) of the data a checkpoint was trained on, minus options that say where fer writes."""
    data = meta.get("data") or {}
    return data.get("spec"), checkpoint_meta.portable_data_options(data.get("options"))


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model through its plugin and load the weights; returns (model in eval mode, metadata)."""
    from safetensors.torch import load_file, load_model

    from fer_core import quantize

    weights = resolve_checkpoint(path)
    meta = read_metadata(weights)
    encoding = meta.get("weight_encoding")
    if encoding not in (None, quantize.ENCODING):
        raise CheckpointError(f"{weights}: unknown weight encoding {encoding!r}; upgrade fer-core")
    model = build_model(meta, weights)
    try:
        if encoding is None:
            load_model(model, str(weights), strict=True)
        else:
            model.load_state_dict(quantize.dequantize_state(load_file(str(weights))), strict=True)
    except Exception as exc:
        raise CheckpointError(f"{weights}: weights do not fit model '{meta['model']}': {(str(exc).splitlines() or [''])[0]}") from None
    _check_finite(model, weights)
    return model.eval(), meta


def _check_finite(model: nn.Module, weights: Path) -> None:
    """NaN or infinite weights would put bare NaN into every output (and into ``--json``): refuse them at load."""
    import torch

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{weights}: tensor '{name}' holds NaN or infinite values; the checkpoint is damaged (or training diverged)"
            )
