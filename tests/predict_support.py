"""Small checkpoints and scenes shared by the predict and export tests (not a test module itself)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import torch
from torch import nn

from fer_core.api import Box, ModelPlugin
from fer_core.checkpoint import save_checkpoint
from fer_core.preprocess import Preprocessing
from fer_core.registry import get_registry

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def checkpoint_meta(channels: int = 1, size: int = 48, classes=CLASSES, model: str = "mycnn_v1", prep: Preprocessing | None = None) -> dict:
    prep = prep or Preprocessing.default(channels, size)
    return {
        "model": model,
        "model_options": {},
        "classes": list(classes),
        "in_channels": channels,
        "input_size": size,
        "preprocessing": prep.to_dict(),
    }


def make_checkpoint(
    folder: Path, *, favour: str | None = None, channels: int = 1, size: int = 48, prep: Preprocessing | None = None
) -> Path:
    """A mycnn_v1 checkpoint with random weights; ``favour`` makes its head always pick that class."""
    torch.manual_seed(0)
    model = get_registry().create("models", "mycnn_v1").build(len(CLASSES), channels, size).eval()
    if favour is not None:
        last = model.head[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.fill_(-2.0)
            last.bias[CLASSES.index(favour)] = 4.0
    return save_checkpoint(folder / "model", model, checkpoint_meta(channels, size, prep=prep))


class BrightnessNet(nn.Module):
    """Class 1 ("bright") when the normalised input's mean is positive, else class 0 ("dark")."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(3.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3))
        return torch.stack([-mean, mean], dim=1) * self.gain


class BrightnessProbe(ModelPlugin):
    description: ClassVar[str] = "test probe: labels images dark or bright"

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return BrightnessNet()


def make_probe_checkpoint(folder: Path) -> Path:
    get_registry().add_object("models", "brightness-probe", BrightnessProbe)
    meta = checkpoint_meta(classes=("dark", "bright"), model="brightness-probe")
    return save_checkpoint(folder / "probe", BrightnessNet(), meta)


def iou(a: Box, b: Box) -> float:
    x1, y1 = max(a.x, b.x), max(a.y, b.y)
    x2, y2 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / float(a.w * a.h + b.w * b.h - inter)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_corrupt_jpeg(path: Path) -> Path:
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return path
