"""One definition of how raw uint8 images become model input, shared by training, evaluation and prediction.

A checkpoint's sidecar stores a ``Preprocessing`` so that predict feeds a model exactly what it was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Preprocessing:
    channels: int = 1
    size: int = 48
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "stored model") -> Preprocessing:
        """A stored record, checked first (finite mean, std > 0, one value per channel): one ``CheckpointError`` if not."""
        from fer_core.checkpoint_meta import check_preprocessing

        check_preprocessing(data, where)
        return cls(
            channels=int(data["channels"]),
            size=int(data["size"]),
            mean=tuple(float(v) for v in data["mean"]),
            std=tuple(float(v) for v in data["std"]),
        )

    @classmethod
    def default(cls, channels: int = 1, size: int = 48) -> Preprocessing:
        return cls(channels=channels, size=size, mean=(0.5,) * channels, std=(0.5,) * channels)


def conform_images(images: np.ndarray, channels: int, size: int) -> np.ndarray:
    """Convert uint8 images (N, H, W) or (N, H, W, C) to ``channels`` and ``size`` x ``size``.

    Color input is assumed BGR (OpenCV's order) and converted with OpenCV's luma weights.
    """
    import cv2

    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images of shape (N, H, W) or (N, H, W, C), got {images.shape}")
    have = 1 if images.ndim == 3 else images.shape[3]
    if have == 4:
        images = images[..., :3]
        have = 3
    if have != channels:
        if channels == 1:
            images = np.stack([cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) for img in images]) if len(images) else images[..., 0]
        else:
            images = np.repeat(images[..., None], channels, axis=3)
    if images.shape[1] != size or images.shape[2] != size:
        interp = cv2.INTER_AREA if images.shape[1] > size else cv2.INTER_LINEAR
        resized = [cv2.resize(img, (size, size), interpolation=interp) for img in images]
        images = np.stack(resized) if resized else np.zeros((0, size, size, *images.shape[3:]), np.uint8)
        if channels == 1 and images.ndim == 4:
            images = images[..., 0]
    return np.ascontiguousarray(images)


def to_tensor(images: np.ndarray | torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """uint8 (N, H, W[, C]) -> normalised float32 (N, C, H, W)."""
    return normalise(to_nchw_float(images), prep)


def to_nchw_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W[, C]) -> float32 (N, C, H, W) still in 0..255, on the device the images are on."""
    import torch

    x = torch.as_tensor(images)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float()


def normalise(x: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """float (N, C, H, W) in 0..255 -> the model's input, in place."""
    import torch

    mean = torch.tensor(prep.mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(prep.std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return x.div_(255.0).sub_(mean).div_(std).contiguous()
