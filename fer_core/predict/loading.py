"""Turn a checkpoint path and a runtime name into a ready inference engine plus the fer metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
from fer_core.errors import CheckpointError, FerError
from fer_core.predict.export import parse_export_metadata
from fer_core.predict.runtime import OnnxRuntime, Runtime, TorchRuntime, onnx_available

ONNX_SUFFIX = ".onnx"


def load_runtime(path: str | Path, runtime: str, device: str) -> tuple[Runtime, dict[str, Any]]:
    """``auto``: ONNX Runtime on the CPU when onnx and onnxruntime are installed and the model exports (2-5x eager
    torch on the shipped CNNs, benchmarks/predict_speed.md), else torch; ``torch``/``onnx`` force one."""
    path = Path(path)
    if path.suffix.lower() == ONNX_SUFFIX:
        return load_onnx_export(path, device)
    model, meta = load_checkpoint(resolve_checkpoint(path))
    if runtime == "onnx" or (runtime == "auto" and device == "cpu" and onnx_available()):
        from fer_core.predict.export import onnx_bytes
        from fer_core.predict.runtime import import_onnxruntime

        import_onnxruntime()  # fail with the install hint before exporting
        try:
            data = onnx_bytes(model, meta)
        except Exception as exc:  # a model the exporter cannot trace: auto falls back to torch, an explicit onnx says why
            if runtime == "onnx":
                reason = str(exc).strip().splitlines()
                raise FerError(
                    f"{path}: cannot export to ONNX ({type(exc).__name__}: {reason[0] if reason else ''}); use --runtime torch"
                ) from None
            return TorchRuntime(model, device), meta
        return OnnxRuntime(data, device, threads=torch_threads()), meta
    return TorchRuntime(model, device), meta


def load_onnx_export(path: Path, device: str) -> tuple[Runtime, dict[str, Any]]:
    if not path.is_file():
        raise CheckpointError(f"{path}: ONNX model not found")
    engine = OnnxRuntime(str(path), device, threads=torch_threads())
    meta = parse_export_metadata(engine.custom_metadata().get("fer"), path)
    width = engine.output_width()
    if width is not None and width != len(meta["classes"]):
        raise CheckpointError(f"{path}: its metadata names {len(meta['classes'])} classes but the graph outputs {width} scores")
    return engine, meta


def torch_threads() -> int | None:
    """Give ONNX Runtime the thread budget torch has, so the two runtimes compare fairly."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()
