"""Turn a checkpoint path and a runtime name into a ready inference engine plus the fer metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
from fer_core.errors import CheckpointError
from fer_core.predict.export import parse_export_metadata
from fer_core.predict.runtime import OnnxRuntime, Runtime, TorchRuntime

ONNX_SUFFIX = ".onnx"


def load_runtime(path: str | Path, runtime: str, device: str) -> tuple[Runtime, dict[str, Any]]:
    path = Path(path)
    if path.suffix.lower() == ONNX_SUFFIX:
        return load_onnx_export(path, device)
    model, meta = load_checkpoint(resolve_checkpoint(path))
    if runtime == "onnx":
        from fer_core.predict.export import onnx_bytes
        from fer_core.predict.runtime import import_onnxruntime

        import_onnxruntime()  # fail with the install hint before exporting
        return OnnxRuntime(onnx_bytes(model, meta), device, threads=torch_threads()), meta
    return TorchRuntime(model, device), meta


def load_onnx_export(path: Path, device: str) -> tuple[Runtime, dict[str, Any]]:
    if not path.is_file():
        raise CheckpointError(f"{path}: ONNX model not found")
    engine = OnnxRuntime(str(path), device, threads=torch_threads())
    meta = parse_export_metadata(engine.custom_metadata().get("fer"), path)
    return engine, meta


def torch_threads() -> int | None:
    """Give ONNX Runtime the thread budget torch has, so the two runtimes compare fairly."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()
