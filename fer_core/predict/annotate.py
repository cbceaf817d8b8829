"""Drawing predictions on images and frames, and the per-video timeline (CSV and plot)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_core import atomic
from fer_core.errors import FerError

if TYPE_CHECKING:
    from fer_core.predict.pipeline import Record
    from fer_core.predict.predictor import FacePrediction

# BGR colours, one per class index, readable on light and dark images.
PALETTE = ((60, 60, 230), (60, 160, 60), (170, 70, 170), (0, 200, 255), (200, 120, 40), (230, 200, 40), (170, 170, 170), (90, 90, 160))


def class_color(classes: Sequence[str], label: str) -> tuple[int, int, int]:
    index = list(classes).index(label) if label in classes else 0
    return PALETTE[index % len(PALETTE)]


def draw_predictions(image: np.ndarray, faces: Sequence[FacePrediction], classes: Sequence[str]) -> np.ndarray:
    """A BGR copy of ``image`` with each face's box and ``label score`` drawn on it."""
    import cv2

    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., :3].copy()
    scale = max(0.4, min(canvas.shape[:2]) / 600.0)
    thickness = max(1, round(scale * 2))
    for face in faces:
        box, color = face.box, class_color(classes, face.label)
        cv2.rectangle(canvas, (box.x, box.y), (box.x + box.w - 1, box.y + box.h - 1), color, thickness)
        text = f"{face.label} {face.score:.2f}" if face.track is None else f"#{face.track} {face.label} {face.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = box.y - th - base - 2 if box.y - th - base - 2 >= 0 else box.y + box.h
        cv2.rectangle(canvas, (box.x, top), (box.x + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(canvas, text, (box.x + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return canvas


def write_image(path: Path, image: np.ndarray) -> Path:
    import cv2

    suffix = path.suffix if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff") else ".png"
    path = path.with_suffix(suffix)
    ok, encoded = cv2.imencode(suffix, image)
    if not ok:
        raise FerError(f"{path}: could not encode the annotated image")
    atomic.write_with(path, lambda tmp: tmp.write_bytes(encoded.tobytes()))
    return path


class VideoWriter:
    """Annotated frames to an mp4 (mp4v codec), opened lazily at the first frame's size."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
        self._writer = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        import cv2

        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self._writer.isOpened():
                raise FerError(f"{self.path}: OpenCV cannot write an mp4v video here")
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


TIMELINE_FIELDS = ("frame", "time_s", "faces", "track", "label", "score")
MAX_PLOTTED_TRACKS = 8


def write_timeline(records: Sequence[Record], classes: Sequence[str], csv_path: Path, plot_path: Path, title: str) -> None:
    """One row per tracked face per analysed frame (every class probability, smoothed as predicted); a frame without
    a face still gets one row with empty face fields."""
    rows: list[dict[str, object]] = []
    for record in records:
        base: dict[str, object] = {"frame": record.frame, "time_s": "" if record.time_s is None else round(record.time_s, 4)}
        base["faces"] = len(record.faces)
        if not record.faces:
            rows.append({**base, "track": "", "label": "", "score": "", **{name: "" for name in classes}})
        for face in record.faces:
            row = {**base, "track": "" if face.track is None else face.track, "label": face.label, "score": round(face.score, 6)}
            row.update({name: round(face.probabilities[name], 6) for name in classes})
            rows.append(row)

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*TIMELINE_FIELDS, *classes])
            writer.writeheader()
            writer.writerows(rows)

    atomic.write_with(csv_path, write_csv)
    plot_timeline(records, classes, plot_path, title)


def track_series(records: Sequence[Record]) -> dict[int | None, list[tuple[int, FacePrediction]]]:
    """Each track's (record index, face), longest track first; untracked faces (``track`` None) share one series."""
    series: dict[int | None, list[tuple[int, FacePrediction]]] = {}
    for index, record in enumerate(records):
        for face in record.faces:
            series.setdefault(face.track, []).append((index, face))
    return dict(sorted(series.items(), key=lambda item: (-len(item[1]), -1 if item[0] is None else item[0])))


def plot_timeline(records: Sequence[Record], classes: Sequence[str], path: Path, title: str) -> None:
    """One panel per track (the longest ``MAX_PLOTTED_TRACKS``; the CSV has them all), every class probability over time;
    gaps where the track was not seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = all(r.time_s is not None for r in records)
    times = np.array([r.time_s if timed else r.frame for r in records], dtype=float)
    series = track_series(records)
    shown = list(series.items())[:MAX_PLOTTED_TRACKS]
    panels = max(1, len(shown))
    figure, axes = plt.subplots(panels, 1, figsize=(9, 1.2 + 2.2 * panels), dpi=100, sharex=True, squeeze=False)
    for axis, (track, faces) in zip(axes[:, 0], shown or [(None, [])], strict=True):
        for index, name in enumerate(classes):
            values = np.full(len(records), np.nan)
            for where, face in faces:
                values[where] = face.probabilities[name]
            b, g, r = PALETTE[index % len(PALETTE)]
            axis.plot(times, values, label=name, color=(r / 255, g / 255, b / 255), linewidth=1.4)
        label = "no face found" if not faces else f"track {track}" if track is not None else "faces"
        axis.set(ylabel="probability", ylim=(0, 1), title=f"{label} ({len(faces)} frames)" if faces else label)
        axis.grid(alpha=0.3)
    hidden = len(series) - len(shown)
    axes[-1, 0].set_xlabel(("time (s)" if timed else "frame") + (f"; {hidden} shorter tracks only in the CSV" if hidden > 0 else ""))
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    atomic.write_with(path, lambda tmp: figure.savefig(tmp, format="png"))
    plt.close(figure)
