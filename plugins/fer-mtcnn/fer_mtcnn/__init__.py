"""MTCNN (facenet-pytorch 2.5.3) as a fer detector: boxes with real confidences and five landmarks."""

from __future__ import annotations

import importlib.util
import math
from typing import Any, ClassVar

import numpy as np

from fer_core.api import Box, Detector
from fer_core.errors import UsageError

# Fail at load time (so `fer list detectors` shows it broken and it is never the default) without importing it yet.
if importlib.util.find_spec("facenet_pytorch") is None:
    raise ImportError("facenet-pytorch is not installed: pip install 'facenet-pytorch==2.5.3'")

__all__ = ["MtcnnDetector"]


class MtcnnDetector(Detector):
    """MTCNN from facenet-pytorch; its weights are inside the facenet-pytorch wheel."""

    description: ClassVar[str] = "MTCNN (facenet-pytorch 2.5.3): confidences and 5 landmarks; finds more faces than Haar, offline."
    priority: ClassVar[int] = 10

    def __init__(
        self,
        min_size: int = 20,
        threshold: float = 0.9,
        device: str = "cpu",
        stage_thresholds: list[float] | None = None,
        factor: float = 0.709,
    ) -> None:
        stages = [0.6, 0.7, 0.7] if stage_thresholds is None else [float(t) for t in stage_thresholds]
        super().__init__(min_size=min_size, threshold=threshold, device=device, stage_thresholds=stages, factor=factor)
        if int(min_size) < 12:
            raise UsageError(f"mtcnn min_size must be >= 12 (its smallest window), got {min_size}")
        if not 0.0 <= float(threshold) <= 1.0 or len(stages) != 3 or not all(0.0 <= t <= 1.0 for t in stages):
            raise UsageError("mtcnn threshold and the three stage_thresholds must lie within [0, 1]")
        if not 0.1 <= float(factor) < 1.0:
            raise UsageError(f"mtcnn factor must be within [0.1, 1), got {factor}")
        self.min_size = int(min_size)
        self.threshold = float(threshold)
        self.device = str(device)
        self._mtcnn = build_mtcnn(self.min_size, stages, float(factor), self.device)

    def detect(self, image: np.ndarray) -> list[Box]:
        import torch

        rgb = to_rgb(image)
        with torch.inference_mode():
            boxes, probs, points = self._mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        height, width = rgb.shape[:2]
        found = []
        for corners, prob, marks in zip(boxes, probs, points, strict=True):
            if prob is None or not math.isfinite(float(prob)) or float(prob) < self.threshold:
                continue
            box = to_box(corners, float(prob), marks, width, height)
            if box is not None:
                found.append(box)
        return sorted(found, key=lambda b: b.w * b.h, reverse=True)


def build_mtcnn(min_size: int, stages: list[float], factor: float, device: str) -> Any:
    import torch
    from facenet_pytorch import MTCNN

    try:
        target = torch.device(device)
        if target.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA is not available")
        return MTCNN(min_face_size=min_size, thresholds=stages, factor=factor, keep_all=True, post_process=False, device=target)
    except (RuntimeError, AssertionError) as exc:
        raise UsageError(f"mtcnn device '{device}' is not usable here: {str(exc).splitlines()[0]}") from None


def to_rgb(image: np.ndarray) -> np.ndarray:
    """fer's images are BGR or gray uint8; MTCNN's networks were trained on RGB."""
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return np.ascontiguousarray(image[..., 2::-1])
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


def to_box(corners: np.ndarray, prob: float, marks: np.ndarray, width: int, height: int) -> Box | None:
    """MTCNN's float (x1, y1, x2, y2) clipped to the image; None when nothing of it is left."""
    values = np.asarray(corners, dtype=float)
    if values.shape != (4,) or not np.isfinite(values).all():
        return None
    x1, y1 = max(0, math.floor(values[0])), max(0, math.floor(values[1]))
    x2, y2 = min(width, math.ceil(values[2])), min(height, math.ceil(values[3]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    points = np.asarray(marks, dtype=float).reshape(-1, 2)
    landmarks = tuple((round(float(px), 2), round(float(py), 2)) for px, py in points) if np.isfinite(points).all() else None
    return Box(int(x1), int(y1), int(x2 - x1), int(y2 - y1), score=round(prob, 6), landmarks=landmarks)
