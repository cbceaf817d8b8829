"""Scenes for trying, testing and benchmarking predict without photos.

``face_scene``: a drawn face that OpenCV's Haar cascade finds. The face is a plain cartoon (oval, dark eyes under
brows, nose line, mouth) with a soft blur, which is what the frontal-face cascade's light/dark features look for. It
is for exercising detection and plumbing, not for judging a model's accuracy.

``composite_scene``: real face crops (from a dataset, given by the caller) pasted at many sizes into cluttered
backgrounds, some turned and partly covered, with noise; ``match_faces`` scores a detector against where they went.
The benchmarks in benchmarks/detect.py and benchmarks/align_sweep.py are made of these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class PlacedFace:
    """Where ``composite_scene`` put face number ``index``: its square before rotation, the angle, whether covered."""

    box: Box
    index: int
    angle: float = 0.0
    occluded: bool = False


def clutter(rng: np.random.Generator, width: int = 640, height: int = 480) -> np.ndarray:
    """A BGR background busy enough to tempt a detector: a gradient under random boxes, lines, discs and texture."""
    import cv2

    ramp = np.linspace(rng.uniform(30, 120), rng.uniform(120, 230), width, dtype=np.float32)
    canvas = np.repeat(np.repeat(ramp[None, :, None], height, axis=0), 3, axis=2)
    canvas *= rng.uniform(0.6, 1.2, 3).astype(np.float32)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(12, 30))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(canvas, (x, y), (x + int(rng.integers(10, 200)), y + int(rng.integers(10, 150))), color, -1)
        elif kind == 1:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(canvas, (x, y), end, color, int(rng.integers(1, 6)))
        else:
            cv2.circle(canvas, (x, y), int(rng.integers(5, 60)), color, -1)
    texture = rng.normal(0, 18, (height // 8 + 1, width // 8 + 1, 1)).astype(np.float32)
    texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(canvas.astype(np.float32) + texture, 0, 255).astype(np.uint8)


def composite_scene(
    rng: np.random.Generator,
    faces: Sequence[np.ndarray],
    *,
    width: int = 640,
    height: int = 480,
    sizes: tuple[int, int] = (40, 250),
    rotate: float = 0.3,
    max_angle: float = 25.0,
    occlude: float = 0.25,
    noise: float = 6.0,
) -> tuple[np.ndarray, list[PlacedFace]]:
    """Paste real face crops (gray or BGR) into ``clutter``: each at a log-uniform size within ``sizes``, a fraction
    ``rotate`` turned by up to ``max_angle`` degrees, a fraction ``occlude`` partly covered (a bar over a third of the
    face, as a hand or a scarf would), none overlapping; then Gaussian noise over the whole image.

    Faces that find no free place after a few tries are left out; the returned list says where each placed one went.
    """
    import cv2

    canvas = clutter(rng, width, height)
    placed: list[PlacedFace] = []
    for index, face in enumerate(faces):
        side = round(math.exp(rng.uniform(math.log(sizes[0]), math.log(sizes[1]))))
        spot = free_spot(rng, [p.box for p in placed], side, width, height)
        if spot is None:
            continue
        patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC if side > face.shape[0] else cv2.INTER_AREA)
        patch = patch if patch.ndim == 3 else cv2.cvtColor(patch, cv2.COLOR_GRAY2BGR)
        angle = float(rng.uniform(-max_angle, max_angle)) if rng.random() < rotate else 0.0
        covered = bool(rng.random() < occlude)
        if covered:
            occlude_patch(rng, patch)
        paste_rotated(canvas, patch, spot, angle)
        placed.append(PlacedFace(Box(spot[0], spot[1], side, side), index, angle, covered))
    noisy = canvas.astype(np.float32) + rng.normal(0, noise, canvas.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8), placed


def free_spot(rng: np.random.Generator, taken: Sequence[Box], side: int, width: int, height: int) -> tuple[int, int] | None:
    if side > min(width, height):
        return None
    for _ in range(40):
        x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        if all(x + side < b.x or b.x + b.w < x or y + side < b.y or b.y + b.h < y for b in taken):
            return x, y
    return None


def occlude_patch(rng: np.random.Generator, patch: np.ndarray) -> None:
    """Cover the lower third, or the left or right third, with a flat bar of a random colour (in place)."""
    side = patch.shape[0]
    third = max(1, side // 3)
    color = rng.integers(0, 256, 3).astype(np.uint8)
    where = rng.integers(0, 3)
    if where == 0:
        patch[side - third :, :] = color
    elif where == 1:
        patch[:, :third] = color
    else:
        patch[:, side - third :] = color


def paste_rotated(canvas: np.ndarray, patch: np.ndarray, at: tuple[int, int], angle: float) -> None:
    """Paste a square patch at ``at`` turned by ``angle`` degrees about its centre; the corners keep the background."""
    import cv2

    if angle == 0.0:
        paste(canvas, patch, *at)
        return
    side = patch.shape[0]
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    turned = cv2.warpAffine(patch, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(np.ones((side, side), np.float32), matrix, (side, side), flags=cv2.INTER_LINEAR)[..., None]
    x, y = at
    region = canvas[y : y + side, x : x + side].astype(np.float32)
    canvas[y : y + side, x : x + side] = np.clip(mask * turned + (1 - mask) * region, 0, 255).astype(np.uint8)


def match_faces(truth: Sequence[Box], found: Sequence[Box], *, min_scale: float = 0.35, max_scale: float = 1.6) -> list[int | None]:
    """For each true face, the index of the detection that found it, or None.

    A detection finds a face when its centre lies inside the face's square and its side (the square root of its area)
    is ``min_scale`` to ``max_scale`` times the square's: detectors frame faces tighter or looser than a dataset's
    crop, so box IoU would judge the framing, not the finding. Pairs are matched closest centres first, one to one.
    """
    pairs = []
    for ti, t in enumerate(truth):
        for fi, f in enumerate(found):
            cx, cy = f.x + f.w / 2, f.y + f.h / 2
            scale = math.sqrt(f.w * f.h) / math.sqrt(t.w * t.h)
            if t.x <= cx <= t.x + t.w and t.y <= cy <= t.y + t.h and min_scale <= scale <= max_scale:
                pairs.append((math.hypot(cx - (t.x + t.w / 2), cy - (t.y + t.h / 2)), ti, fi))
    matched: list[int | None] = [None] * len(truth)
    used: set[int] = set()
    for _, ti, fi in sorted(pairs):
        if matched[ti] is None and fi not in used:
            matched[ti] = fi
            used.add(fi)
    return matched
