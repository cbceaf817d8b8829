"""Cut face crops the way FER datasets frame them: a square around the detected face, with a margin."""

from __future__ import annotations

import numpy as np

from fer_core.api import Box


def square_box(box: Box, margin: float) -> tuple[int, int, int]:
    """The square (x, y, side) centred on ``box``, its side the box's longer edge grown by ``margin`` on each side."""
    side = round(max(box.w, box.h) * (1.0 + 2.0 * margin))
    cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
    return round(cx - side / 2.0), round(cy - side / 2.0), max(side, 1)


def crop_face(image: np.ndarray, box: Box, margin: float = 0.1) -> np.ndarray:
    """A square crop; parts outside the image are filled by replicating its border (no black bars the model never saw)."""
    import cv2

    x, y, side = square_box(box, margin)
    height, width = image.shape[:2]
    top, left = max(0, -y), max(0, -x)
    bottom, right = max(0, y + side - height), max(0, x + side - width)
    inside = image[max(0, y) : min(height, y + side), max(0, x) : min(width, x + side)]
    if inside.size == 0:
        raise ValueError(f"box {box} lies outside the {width}x{height} image")
    if top or left or bottom or right:
        inside = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(inside)
