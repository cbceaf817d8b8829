"""Aligned face crops: rotate so the eyes are level, then scale and crop to the framing a checkpoint was trained on.

The framing is a ``CropGeometry``. A checkpoint states its own under ``preprocessing.crop`` in its metadata
(``{"margin": 0.1, "offset": 0.05}``), so weights trained on other crops can say what they need; checkpoints that say
nothing get ``DEFAULT_GEOMETRY`` (margin 0, offset 0.15), chosen by the sweep in benchmarks/align_sweep.md.

From the five landmarks (two eyes, nose, two mouth corners) the face's size is ``F = FACE_SCALE * max(d, m)``, with ``d``
the distance between the eyes and ``m`` the distance from the eyes' midpoint to the mouth's; for a frontal face ``F`` is
about the side of a tight brows-to-chin box, and taking the larger of the two distances keeps it steady when the head
turns (``d`` shrinks) or nods (``m`` shrinks). The crop is a square of side ``F * (1 + 2 * margin)`` centred halfway
between the eyes and the mouth, moved up (towards the forehead) by ``offset * F``, and turned so the eyes are level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fer_core.errors import CheckpointError

FACE_SCALE = 2.2
META_KEY = "crop"  # under the checkpoint's "preprocessing"


@dataclass(frozen=True)
class CropGeometry:
    """How to cut a face for a checkpoint: ``margin``/``offset`` for aligned crops, ``box_margin`` for bare boxes."""

    margin: float = 0.0
    offset: float = 0.15
    box_margin: float = 0.1  # detectors without landmarks (Haar): the box's longer side grown by this per side
    align: bool = True

    def __post_init__(self) -> None:
        for name in ("margin", "offset", "box_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"crop {name} must be a finite number, got {value!r}")
        if not -0.5 <= self.margin <= 2.0 or not 0.0 <= self.box_margin <= 1.0 or not -1.0 <= self.offset <= 1.0:
            raise ValueError(f"crop geometry out of range: margin {self.margin}, offset {self.offset}, box_margin {self.box_margin}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], source: str = "checkpoint") -> CropGeometry:
        """The geometry a checkpoint's metadata states, else the default; malformed values are a one-line CheckpointError."""
        prep = meta.get("preprocessing")
        raw = prep.get(META_KEY) if isinstance(prep, Mapping) else None
        if raw is None:
            return DEFAULT_GEOMETRY
        if not isinstance(raw, Mapping):
            raise CheckpointError(f"{source}: preprocessing.{META_KEY} must be an object, got {type(raw).__name__}")
        known = {k: raw[k] for k in ("margin", "offset", "box_margin", "align") if k in raw}
        if "align" in known and not isinstance(known["align"], bool):
            raise CheckpointError(f"{source}: preprocessing.{META_KEY}.align must be true or false")
        try:
            return cls(**{**DEFAULT_GEOMETRY.to_dict(), **known})
        except ValueError as exc:
            raise CheckpointError(f"{source}: preprocessing.{META_KEY}: {exc}") from None


# Chosen by benchmarks/align_sweep.py for the shipped checkpoints, which state no geometry: margin 0, offset 0.15 had the
# best mean accuracy over fer-fast, fer-accurate and fer-ensemble on FER-2013 and CK+ faces re-found by MTCNN (75.2 %,
# against 62.2 % for the earlier unmeasured 0.2 / 0.05; see benchmarks/align_sweep.md).
DEFAULT_GEOMETRY = CropGeometry()


@dataclass(frozen=True)
class FaceFrame:
    """Where an aligned crop lies in the image: its centre, the eyes' angle (radians) and its side in pixels."""

    centre: tuple[float, float]
    angle: float
    side: float

    def matrix(self) -> np.ndarray:
        """The 2x3 affine map from image pixels to crop pixels (rotation by -angle about the centre, no scaling)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        cx, cy = self.centre
        half = self.side / 2.0
        return np.array([[c, s, half - c * cx - s * cy], [-s, c, half + s * cx - c * cy]], dtype=np.float64)


def face_frame(landmarks: Sequence[Sequence[float]], margin: float, offset: float) -> FaceFrame:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (5, 2) or not np.isfinite(points).all():
        raise ValueError(f"expected five (x, y) landmarks, got shape {points.shape}")
    left_eye, right_eye, _nose, mouth_left, mouth_right = points
    eyes, mouth = (left_eye + right_eye) / 2.0, (mouth_left + mouth_right) / 2.0
    dx, dy = right_eye - left_eye
    angle = math.atan2(dy, dx) if math.hypot(dx, dy) > 1e-6 else 0.0
    size = FACE_SCALE * max(math.hypot(dx, dy), float(np.hypot(*(mouth - eyes))), 1.0)
    up = np.array([math.sin(angle), -math.cos(angle)])  # the face's "up" in image coordinates
    centre = (eyes + mouth) / 2.0 + up * offset * size
    return FaceFrame(centre=(float(centre[0]), float(centre[1])), angle=angle, side=size * (1.0 + 2.0 * margin))


def aligned_crop(image: np.ndarray, landmarks: Sequence[Sequence[float]], margin: float, offset: float) -> np.ndarray:
    """The square crop, eyes level, at the image's own resolution; outside the image its border is replicated."""
    import cv2

    frame = face_frame(landmarks, margin, offset)
    side = max(1, round(frame.side))
    matrix = frame.matrix()
    matrix[:, 2] += (side - frame.side) / 2.0  # keep the centre at the centre of the rounded square
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def transform_points(matrix: np.ndarray, points: Sequence[Sequence[float]]) -> np.ndarray:
    """Apply a 2x3 affine map to (x, y) points (for tests and drawing)."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]
