"""Faces across video frames: an IoU tracker gives each face a ``track`` id, and an EMA smooths each track's probabilities.

Tracking: each analysed frame's boxes are matched greedily, highest IoU first, to the tracks seen in the last
``max_age`` analysed frames; a pair with IoU below ``min_iou`` is no match. An unmatched box starts a new track (ids
count from 0 within one video); a track unseen for more than ``max_age`` analysed frames ends.

Smoothing: per track, ``p_t = a * q_t + (1 - a) * p_(t-1)`` with ``q_t`` the frame's own probabilities and
``a = 2 / (window + 1)``, the usual N-sample EMA (about 86 % of the weight on the last ``window`` analysed frames).
``window`` 0 or 1 turns smoothing off. The label and score are those of the smoothed probabilities. A new track
starts from its first frame's own probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from fer_core.api import Box
from fer_core.predict.predictor import FacePrediction

DEFAULT_WINDOW = 5
DEFAULT_MIN_IOU = 0.3
DEFAULT_MAX_AGE = 10


def iou(a: Box, b: Box) -> float:
    x1, y1 = max(a.x, b.x), max(a.y, b.y)
    x2, y2 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: Box
    last_seen: int
    probabilities: np.ndarray | None = None


@dataclass
class IouTracker:
    min_iou: float = DEFAULT_MIN_IOU
    max_age: int = DEFAULT_MAX_AGE
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 0
    step: int = 0

    def update(self, boxes: Sequence[Box]) -> list[Track]:
        """The track of each box, in the order given; call once per analysed frame."""
        self.step += 1
        self.tracks = [t for t in self.tracks if self.step - t.last_seen - 1 <= self.max_age]  # frames missed so far
        pairs = sorted(
            ((iou(track.box, box), ti, bi) for ti, track in enumerate(self.tracks) for bi, box in enumerate(boxes)),
            reverse=True,
        )
        assigned: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou:
                break
            if ti in used or bi in assigned:
                continue
            used.add(ti)
            assigned[bi] = self.tracks[ti]
        result = []
        for bi, box in enumerate(boxes):
            track = assigned.get(bi)
            if track is None:
                track = Track(id=self.next_id, box=box, last_seen=self.step)
                self.next_id += 1
                self.tracks.append(track)
            track.box, track.last_seen = box, self.step
            result.append(track)
        return result


def ema_alpha(window: int) -> float:
    return 1.0 if window <= 1 else 2.0 / (window + 1.0)


@dataclass
class FaceSmoother:
    """Tracks the faces of one video and smooths their probabilities; ``window`` 0 only tracks."""

    window: int = DEFAULT_WINDOW
    tracker: IouTracker = field(default_factory=IouTracker)

    def __call__(self, faces: Sequence[FacePrediction]) -> list[FacePrediction]:
        alpha = ema_alpha(self.window)
        out = []
        for face, track in zip(faces, self.tracker.update([f.box for f in faces]), strict=True):
            names = list(face.probabilities)
            current = np.array([face.probabilities[n] for n in names], dtype=np.float64)
            if track.probabilities is None or track.probabilities.shape != current.shape:
                track.probabilities = current
            else:
                track.probabilities = alpha * current + (1.0 - alpha) * track.probabilities
            smoothed = track.probabilities / max(float(track.probabilities.sum()), 1e-12)
            best = int(np.argmax(smoothed))
            out.append(
                replace(
                    face,
                    label=names[best],
                    score=float(smoothed[best]),
                    probabilities={n: float(p) for n, p in zip(names, smoothed, strict=True)},
                    track=track.id,
                )
            )
        return out
