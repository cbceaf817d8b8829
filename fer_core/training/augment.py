"""The default augmenter: an albumentations pipeline applied image by image inside one batch call."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_core.api import Augmenter
from fer_core.errors import UsageError
from fer_core.training.config import AUGMENT_PRESETS

# (rotation degrees, shift fraction, scale fraction, brightness/contrast limit, random erasing)
PRESET_STRENGTH: dict[str, tuple[float, float, float, float, bool]] = {
    "light": (10.0, 0.05, 0.05, 0.1, False),
    "standard": (15.0, 0.1, 0.1, 0.2, False),
    "strong": (20.0, 0.15, 0.15, 0.3, True),
}


def build_pipeline(preset: str) -> Any:
    """An ``A.Compose`` for one preset; ``none`` gives an empty pipeline."""
    import albumentations as A
    import cv2

    if preset not in AUGMENT_PRESETS:
        raise UsageError(f"unknown augmentation preset '{preset}'; choose from {', '.join(AUGMENT_PRESETS)}")
    if preset == "none":
        return A.Compose([])
    rotate, shift, scale, light, erase = PRESET_STRENGTH[preset]
    transforms = [
        A.HorizontalFlip(p=0.5),
        A.Affine(
            rotate=(-rotate, rotate),
            translate_percent=(-shift, shift),
            scale=(1 - scale, 1 + scale),
            border_mode=cv2.BORDER_REFLECT_101,
            p=0.8,
        ),
        A.RandomBrightnessContrast(brightness_limit=light, contrast_limit=light, p=0.5),
    ]
    if erase:
        transforms.append(A.CoarseDropout(num_holes_range=(1, 1), hole_height_range=(0.1, 0.3), hole_width_range=(0.1, 0.3), p=0.5))
    return A.Compose(transforms)


class AlbumentationsAugmenter(Augmenter):
    description = "albumentations: flip, rotation, shift/scale, brightness/contrast, random erasing (preset=none|light|standard|strong)."

    def __init__(self, preset: str = "standard") -> None:
        super().__init__(preset=preset)
        self.preset = preset
        self.pipeline = build_pipeline(preset)

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.preset == "none" or len(images) == 0:
            return images
        self.pipeline.set_random_seed(int(rng.integers(2**31 - 1)))
        out = np.empty_like(images)
        for i, image in enumerate(images):
            out[i] = self.pipeline(image=image)["image"]
        return out
