"""Inference back-ends: each maps a normalised float32 batch (N, C, H, W) to class probabilities (N, K)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fer_core.errors import FerError, UsageError

if TYPE_CHECKING:
    from torch import nn

RUNTIMES = ("auto", "torch", "onnx")  # auto: ONNX Runtime on CPU when installed and the model exports, else torch


class Runtime(Protocol):
    name: str

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TorchRuntime:
    name = "torch"

    def __init__(self, model: nn.Module, device: str = "cpu") -> None:
        import torch

        try:
            self.device = torch.device(device)
            # channels_last as in training and `fer eval`: 1.4-1.6x eager NCHW on the shipped CNNs (benchmarks/predict_speed.md)
            self.model = model.eval().to(self.device, memory_format=torch.channels_last)
        except (RuntimeError, AssertionError) as exc:
            raise UsageError(f"device '{device}' is not usable here: {str(exc).splitlines()[0]}") from None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device).contiguous(memory_format=torch.channels_last)
            logits = self.model(x)
            return torch.softmax(logits.float(), dim=1).cpu().numpy()


class OnnxRuntime:
    """ONNX Runtime on a model exported by ``fer export`` (its graph already ends in a softmax)."""

    name = "onnx"

    def __init__(self, model: bytes | str, device: str = "cpu", threads: int | None = None) -> None:
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise UsageError("this onnxruntime has no CUDA provider; use --device cpu or install onnxruntime-gpu")
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(model, sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise FerError(f"onnxruntime cannot load this model: {str(exc).splitlines()[0]}") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def custom_metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def output_width(self) -> int | None:
        """The number of scores the graph puts out per image, when its output shape fixes it."""
        shape = self.session.get_outputs()[0].shape
        return shape[-1] if shape and isinstance(shape[-1], int) else None


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise FerError("onnxruntime is not installed; install it with: pip install 'fer-core[onnx]' (or use --runtime torch)") from None
    return onnxruntime


def onnx_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def check_runtime(name: str) -> str:
    if name not in RUNTIMES:
        raise UsageError(f"unknown runtime '{name}'; choose from {', '.join(RUNTIMES)}")
    return name
