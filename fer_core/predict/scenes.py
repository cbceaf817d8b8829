"""Synthetic scenes for trying and testing predict without photos: a drawn face that OpenCV's Haar cascade finds.

The face is a plain cartoon (oval, dark eyes under brows, nose line, mouth) with a soft blur, which is what the
frontal-face cascade's light/dark features look for. It is for exercising detection and plumbing, not for judging
a model's accuracy.
"""

from __future__ import annotations

import numpy as np

from fer_core.api import Box


def draw_face(size: int = 128, skin: int = 190, background: int = 40) -> np.ndarray:
    """A (size, size) uint8 gray face filling the square."""
    import cv2

    image = np.full((size, size), background, np.uint8)
    centre = size // 2
    cv2.ellipse(image, (centre, centre), (round(size * 0.36), round(size * 0.46)), 0, 0, 360, skin, -1)
    eye_y, eye_dx = round(size * 0.40), round(size * 0.16)
    brow_half, brow_up = round(size * 0.09), round(size * 0.09)
    for side in (-1, 1):
        eye_x = centre + side * eye_dx
        cv2.ellipse(image, (eye_x, eye_y), (round(size * 0.08), round(size * 0.04)), 0, 0, 360, 60, -1)
        cv2.line(image, (eye_x - brow_half, eye_y - brow_up), (eye_x + brow_half, eye_y - brow_up), 70, max(2, size // 40))
    cv2.line(image, (centre, eye_y + round(size * 0.05)), (centre, round(size * 0.60)), skin - 30, 3)
    cv2.ellipse(image, (centre, round(size * 0.72)), (round(size * 0.14), round(size * 0.04)), 0, 0, 360, 80, -1)
    return cv2.GaussianBlur(image, (0, 0), size / 80)


def paste(canvas: np.ndarray, face: np.ndarray, x: int, y: int) -> Box:
    """Paste ``face`` into ``canvas`` (in place) with its top-left corner at (x, y); return where it went."""
    height, width = face.shape[:2]
    target = canvas[y : y + height, x : x + width]
    target[...] = face if canvas.ndim == face.ndim else face[..., None]
    return Box(x, y, width, height)


def face_scene(
    width: int = 320, height: int = 240, face_size: int = 120, at: tuple[int, int] = (150, 60), background: int = 120, color: bool = True
) -> tuple[np.ndarray, Box]:
    """A plain canvas with one drawn face at ``at``; BGR when ``color``. Returns the image and the face's true box."""
    canvas = np.full((height, width, 3) if color else (height, width), background, np.uint8)
    box = paste(canvas, draw_face(face_size), *at)
    return canvas, box
