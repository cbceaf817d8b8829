"""Which torch device a run uses: ``auto`` takes the first CUDA GPU torch sees, else the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fer_core.errors import UsageError

if TYPE_CHECKING:
    import torch


def resolve_device(spec: str, precision: str = "fp32") -> torch.device:
    """The device ``spec`` names; a usage error when it is absent or cannot train in ``precision``."""
    import torch

    if spec == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if spec == "auto" and not available:
        return torch.device("cpu")
    if not available:
        raise UsageError(f"--device {spec}: torch {torch.__version__} sees no CUDA GPU on this machine; use --device cpu or auto")
    device = torch.device("cuda" if spec == "auto" else spec)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"--device {spec}: there are only {torch.cuda.device_count()} CUDA GPUs (cuda:0 ...)")
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise UsageError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support; use --precision fp32")
    return device


def describe_device(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H200)``: what a checkpoint records about where it was trained."""
    import torch

    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
