"""A synthetic, seeded demo dataset of drawn faces, so everything runs with no download.

Each class moves the mouth, brows and eyes its own way (a smile for happy, an open
"O" and raised brows for surprise, a V of brows for angry, ...). Expression
strength, face shape, pose, lighting, occluders and noise vary per image, so weak
expressions look alike and models have something to differ on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fer_core.api import Dataset, DatasetSource, Split
from fer_core.data.labels import CANONICAL
from fer_core.errors import UsageError
from fer_core.options import OptionSpec

# Class shares loosely follow FER-2013 (happy most common, disgust rare).
CLASS_SHARES: dict[str, float] = {
    "angry": 0.13,
    "disgust": 0.04,
    "fear": 0.13,
    "happy": 0.22,
    "sad": 0.16,
    "surprise": 0.13,
    "neutral": 0.19,
}

# Expression parameters at full strength:
# mouth curve (+ corners up), mouth open, mouth width, mouth asymmetry,
# brow raise, brow slant (+ inner ends up), eye opening, nose wrinkle.
_PARAMS = ("curve", "open", "width", "asym", "brow_raise", "brow_slant", "eye_open", "wrinkle")
_NEUTRAL = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], np.float32)
_EXPRESSIONS: dict[str, tuple[float, ...]] = {
    "angry": (-0.25, 0.1, 0.85, 0.0, -0.7, -1.0, 0.7, 0.2),
    "disgust": (-0.45, 0.15, 0.9, 0.9, -0.45, -0.5, 0.6, 1.0),
    "fear": (-0.35, 0.55, 1.25, 0.0, 0.75, 0.7, 1.45, 0.0),
    "happy": (1.0, 0.3, 1.2, 0.0, 0.1, 0.0, 0.8, 0.0),
    "sad": (-0.85, 0.0, 0.9, 0.0, 0.1, 0.85, 0.8, 0.0),
    "surprise": (0.0, 1.0, 0.7, 0.0, 1.0, 0.0, 1.55, 0.0),
    "neutral": tuple(_NEUTRAL.tolist()),
}
_STRENGTH = (1.0, 1.6)  # how far each face moves from neutral towards its expression (1: the table above)
_PARAM_JITTER = np.array([0.09, 0.05, 0.04, 0.1, 0.1, 0.1, 0.06, 0.075], np.float32)
_CANVAS = 96  # faces are drawn at 2x and downsampled, which anti-aliases them
_MOUTH_X = np.linspace(-1.0, 1.0, 11)
_SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2}


def class_counts(total: int, shares: dict[str, float] = CLASS_SHARES) -> np.ndarray:
    """Per-class counts summing to ``total`` (largest remainder)."""
    weights = np.array([shares[c] for c in CANONICAL], np.float64)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts))[: total - counts.sum()]:
        counts[i] += 1
    return counts


def generate_split(total: int, seed: int, stream: int, size: int = 48) -> Split:
    """``total`` faces with shuffled, mildly imbalanced labels; the same arguments give the same images."""
    rng = np.random.default_rng([seed, stream])
    labels = np.repeat(np.arange(len(CANONICAL)), class_counts(total))
    rng.shuffle(labels)
    images = render_faces(labels, rng, size)
    ids = np.array([f"demo-{stream}-{i}" for i in range(total)])
    return Split(images=images, labels=labels.astype(np.int64), ids=ids)


def render_faces(labels: np.ndarray, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    import cv2

    n = len(labels)
    table = np.stack([np.array(_EXPRESSIONS[c], np.float32) for c in CANONICAL])
    strength = rng.uniform(*_STRENGTH, size=(n, 1)).astype(np.float32)
    params = _NEUTRAL + strength * (table[labels] - _NEUTRAL)
    params += rng.standard_normal(size=params.shape, dtype=np.float32) * _PARAM_JITTER
    # All per-image randomness is drawn up front: one uniform and one normal row per face.
    uniform = rng.random((n, 17)).tolist()
    normal = rng.standard_normal((n, 7)).tolist()
    out = np.empty((n, size, size), np.uint8)
    canvas = np.empty((_CANVAS, _CANVAS), np.uint8)
    for i, p in enumerate(params.tolist()):
        _draw_face(canvas, p, uniform[i], normal[i])
        out[i] = cv2.resize(_pose(canvas, uniform[i], normal[i]), (size, size), interpolation=cv2.INTER_AREA)
    return _lighting_and_noise(out, rng)


def _draw_face(canvas: np.ndarray, p: list[float], u: list[float], z: list[float]) -> None:
    import cv2

    curve, mouth_open, width, asym, brow_raise, brow_slant, eye_open, wrinkle = p
    background = int(30 + 170 * u[0])
    skin = min(235, max(95, background + (1 if u[1] < 0.5 else -1) * int(50 + 60 * u[2])))
    ink = max(0, skin - int(75 + 75 * u[3]))
    canvas.fill(background)
    cx = 48 + 2.0 * z[0]
    cy = 50 + 2.0 * z[1]
    ax = 27 + 7 * u[4]
    ay = 34 + 8 * u[5]
    cv2.ellipse(canvas, _pt(cx, cy), _pt(ax, ay), 0, 0, 360, skin, -1, cv2.LINE_AA, shift=4)
    if u[6] < 0.5:  # hair
        hair = int(90 * u[7])
        cv2.ellipse(canvas, _pt(cx, cy - ay * 0.55), _pt(ax * 1.05, ay * 0.5), 0, 180, 360, hair, -1, cv2.LINE_AA, shift=4)

    eye_y = cy - 0.15 * ay + z[2]
    eye_dx = 0.36 * ax
    eye_w = 0.15 * ax
    eye_h = max(0.8, 0.08 * ay * eye_open)
    for side in (-1, 1):
        centre = _pt(cx + side * eye_dx, eye_y)
        cv2.ellipse(canvas, centre, _pt(eye_w, eye_h), 0, 0, 360, min(255, skin + 40), -1, cv2.LINE_AA, shift=4)
        cv2.circle(canvas, centre, max(1, round(min(eye_h, 0.08 * ax) * 16)), ink, -1, cv2.LINE_AA, shift=4)

    brow_y = eye_y - 0.14 * ay - 6.0 * brow_raise
    for side in (-1, 1):
        inner = (cx + side * 0.14 * ax, brow_y - 5.0 * brow_slant)
        outer = (cx + side * 0.58 * ax, brow_y + 2.0 * brow_slant)
        cv2.line(canvas, _pt(*inner), _pt(*outer), ink, 4, cv2.LINE_AA, shift=4)

    cv2.line(canvas, _pt(cx, eye_y + 4), _pt(cx + z[3], cy + 0.22 * ay), max(0, skin - 45), 2, cv2.LINE_AA, shift=4)
    if wrinkle > 0.35:
        for side in (-1, 1):
            x = cx + side * 0.1 * ax
            cv2.line(canvas, _pt(x, eye_y + 5), _pt(x + side * 2.5, eye_y + 10), max(0, skin - 60), 1, cv2.LINE_AA, shift=4)

    mouth_y = cy + 0.47 * ay + z[4]
    half = 0.34 * ax * min(1.6, max(0.4, width))
    upper = mouth_y - 10.0 * curve * _MOUTH_X**2 + 5.0 * asym * _MOUTH_X
    points_x = cx + half * _MOUTH_X
    top = np.stack([points_x, upper], 1)
    if mouth_open > 0.08:
        lower = upper + mouth_open * 14.0 * (1.0 - _MOUTH_X**2)
        polygon = np.concatenate([top, np.stack([points_x, lower], 1)[::-1]])
        cv2.fillPoly(canvas, [np.round(polygon * 16).astype(np.int32)], ink, cv2.LINE_AA, shift=4)
    cv2.polylines(canvas, [np.round(top * 16).astype(np.int32)], False, ink, 4, cv2.LINE_AA, shift=4)

    if u[8] < 0.12:  # an occluder: a hand, a microphone, a scarf
        x0, y0, w, h = 80 * u[9], 80 * u[10], 10 + 20 * u[11], 10 + 20 * u[12]
        cv2.rectangle(canvas, _pt(x0, y0), _pt(x0 + w, y0 + h), int(255 * u[13]), -1, cv2.LINE_AA, shift=4)


def _pose(canvas: np.ndarray, u: list[float], z: list[float]) -> np.ndarray:
    import cv2

    angle = -10 + 20 * u[14]
    scale = 0.88 + 0.24 * u[15]
    matrix = cv2.getRotationMatrix2D((_CANVAS / 2, _CANVAS / 2), angle, scale)
    matrix[:, 2] += (3.0 * z[5], 3.0 * z[6])
    posed = cv2.warpAffine(canvas, matrix, (_CANVAS, _CANVAS), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return posed[:, ::-1] if u[16] < 0.5 else posed


def _lighting_and_noise(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n, h, w = images.shape
    theta = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(theta) * (xx - w / 2) + np.sin(theta) * (yy - h / 2)) / (w / 2)
    x = images.astype(np.float32)
    x *= rng.uniform(0.55, 1.15, size=(n, 1, 1)).astype(np.float32)
    x += (rng.uniform(-45, 45, size=(n, 1, 1)) * ramp).astype(np.float32)
    x += rng.standard_normal(size=x.shape, dtype=np.float32) * rng.uniform(2, 12, size=(n, 1, 1)).astype(np.float32)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


def _pt(x: float, y: float) -> tuple[int, int]:
    """A point in OpenCV's 4-bit fixed point (``shift=4``) for sub-pixel drawing."""
    return round(x * 16), round(y * 16)


class DemoSource(DatasetSource):
    """Synthetic drawn faces, 7 canonical classes, 48x48 grayscale; options train, val, test, seed, size."""

    description: ClassVar[str] = "Synthetic drawn faces (seeded, no download): 7 classes, 48x48 grayscale."
    short_name: ClassVar[str] = "demo"
    options_schema: ClassVar[Mapping[str, Any] | None] = {
        "train": OptionSpec("train", int, 2100, "training images"),
        "val": OptionSpec("val", int, 350, "validation images (0: carve val from train)"),
        "test": OptionSpec("test", int, 350, "test images (0: none)"),
        "seed": OptionSpec("seed", int, 0, "seed of the generator"),
        "size": OptionSpec("size", int, 48, "image side in pixels"),
    }

    def can_load(self, path: Path) -> bool:
        return False

    def load(self, path: Path | None = None) -> Dataset:
        sizes = {name: int(self.options.get(name, default)) for name, default in (("train", 2100), ("val", 350), ("test", 350))}
        seed = int(self.options.get("seed", 0))
        size = int(self.options.get("size", 48))
        if sizes["train"] < 2 or min(sizes.values()) < 0:
            raise UsageError(f"demo: train must be at least 2 and val, test at least 0 images, got {sizes}")
        if not 8 <= size <= 512:
            raise UsageError(f"demo: size must be 8-512 pixels, got {size}")
        splits = {name: generate_split(total, seed, _SPLIT_STREAMS[name], size) for name, total in sizes.items() if total > 0}
        meta: dict[str, Any] = {"source": "demo", "format": "synthetic drawn faces", "seed": seed}
        return Dataset(name="demo", classes=CANONICAL, splits=splits, protocol="demo:synthetic:7cls", synthetic=True, meta=meta)
