"""The augmentation presets as batched tensor operations, so they run where the batch is (a GPU) instead of image by image.

Same transforms and strengths as the albumentations presets (``augment.PRESET_STRENGTH``): horizontal flip,
an affine warp (rotation, shift, scale; reflected borders), brightness/contrast and, in ``strong``, one
erased rectangle. Randomness comes from a ``torch.Generator`` on the batch's device, so a seeded epoch
draws the same augmentation every time on the same device.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from fer_core.api import Augmenter
from fer_core.errors import UsageError
from fer_core.training.augment import PRESET_STRENGTH
from fer_core.training.config import AUGMENT_PRESETS

if TYPE_CHECKING:
    import torch

FLIP_P, AFFINE_P, LIGHT_P, ERASE_P = 0.5, 0.8, 0.5, 0.5
ERASE_SIDE = (0.1, 0.3)


class TensorAugmenter(Augmenter):
    description = "torch: the albumentations presets as batched tensor ops on the training device (GPU); preset=light|standard|strong."

    def __init__(self, preset: str = "standard") -> None:
        if preset not in AUGMENT_PRESETS:
            raise UsageError(f"unknown augmentation preset '{preset}'; choose from {', '.join(AUGMENT_PRESETS)}")
        super().__init__(preset=preset)
        self.preset = preset

    def augment_tensor(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Float (N, C, H, W) images in 0..255 -> augmented images of the same shape, range and device."""
        if self.preset == "none" or len(x) == 0:
            return x
        rotate, shift, scale, light, erase = PRESET_STRENGTH[self.preset]
        x = _flip(x, generator)
        x = _affine(x, generator, rotate, shift, scale)
        x = _brightness_contrast(x, generator, light)
        if erase:
            x = _erase(x, generator)
        return x

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import torch

        from fer_core.preprocess import to_nchw_float

        if self.preset == "none" or len(images) == 0:
            return images
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        out = self.augment_tensor(to_nchw_float(images), generator).round_().clamp_(0, 255).to(torch.uint8)
        out = out[:, 0] if images.ndim == 3 else out.permute(0, 2, 3, 1)
        return out.numpy()


def _uniform(n: int, low: float, high: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    import torch

    return torch.rand(n, generator=generator, device=device).mul_(high - low).add_(low)


def _chosen(n: int, p: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    import torch

    return torch.rand(n, generator=generator, device=device) < p


def _flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    import torch

    flip = _chosen(len(x), FLIP_P, generator, x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def _affine(x: torch.Tensor, generator: torch.Generator, rotate: float, shift: float, scale: float) -> torch.Tensor:
    """Rotation, shift (a fraction of the side) and zoom with reflected borders; 1 - AFFINE_P of the images are left as they are."""
    import torch
    import torch.nn.functional as F

    n, device = len(x), x.device
    angle = _uniform(n, -rotate, rotate, generator, device) * (math.pi / 180)
    zoom = _uniform(n, 1 - scale, 1 + scale, generator, device)
    # affine_grid works in [-1, 1] coordinates, so a shift of a fraction f of the side is 2f.
    tx = _uniform(n, -shift, shift, generator, device) * 2
    ty = _uniform(n, -shift, shift, generator, device) * 2
    keep = ~_chosen(n, AFFINE_P, generator, device)
    angle, tx, ty = angle.masked_fill(keep, 0), tx.masked_fill(keep, 0), ty.masked_fill(keep, 0)
    zoom = zoom.masked_fill(keep, 1)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _brightness_contrast(x: torch.Tensor, generator: torch.Generator, limit: float) -> torch.Tensor:
    """As albumentations' RandomBrightnessContrast: x * (1 + contrast) + brightness * 255, clipped."""
    n, device = len(x), x.device
    apply = _chosen(n, LIGHT_P, generator, device)
    alpha = (1 + _uniform(n, -limit, limit, generator, device)).masked_fill(~apply, 1).view(-1, 1, 1, 1)
    beta = (_uniform(n, -limit, limit, generator, device) * 255).masked_fill(~apply, 0).view(-1, 1, 1, 1)
    return (x * alpha + beta).clamp_(0, 255)


def _erase(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One black rectangle of ERASE_SIDE of each side, in ERASE_P of the images (albumentations' CoarseDropout, one hole)."""
    import torch

    n, (height, width), device = len(x), x.shape[-2:], x.device
    apply = _chosen(n, ERASE_P, generator, device)
    hole_h = (_uniform(n, *ERASE_SIDE, generator, device) * height).long().clamp_(min=1)
    hole_w = (_uniform(n, *ERASE_SIDE, generator, device) * width).long().clamp_(min=1)
    top = (torch.rand(n, generator=generator, device=device) * (height - hole_h + 1)).long()
    left = (torch.rand(n, generator=generator, device=device) * (width - hole_w + 1)).long()
    rows = torch.arange(height, device=device).view(1, -1)
    cols = torch.arange(width, device=device).view(1, -1)
    in_rows = (rows >= top.view(-1, 1)) & (rows < (top + hole_h).view(-1, 1))
    in_cols = (cols >= left.view(-1, 1)) & (cols < (left + hole_w).view(-1, 1))
    hole = (in_rows.unsqueeze(2) & in_cols.unsqueeze(1) & apply.view(-1, 1, 1)).unsqueeze(1)
    return x.masked_fill(hole, 0)
