"""What `fer predict` runs: expand paths into images and videos, predict in batches, annotate, and yield one record per image or frame."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.errors import DataError, FerError
from fer_core.predict.annotate import VideoWriter, draw_predictions, write_image, write_timeline
from fer_core.predict.images import is_video, read_image
from fer_core.predict.predictor import FacePrediction, Predictor

MAX_BUFFERED_FRAMES = 64  # bounds memory when --every N and --batch B would hold N*B decoded frames


@dataclass
class Record:
    """The outcome for one image or one analysed video frame."""

    source: str
    faces: list[FacePrediction] = field(default_factory=list)
    frame: int | None = None
    time_s: float | None = None
    error: str | None = None
    outputs: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "ok" if self.faces else "no_face"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "frame": self.frame,
            "time_s": None if self.time_s is None else round(self.time_s, 4),
            "status": self.status,
            "error": self.error,
            "faces": [face.to_dict() for face in self.faces],
            "outputs": list(self.outputs),
        }


@dataclass(frozen=True)
class Input:
    path: Path
    root: Path | None = None  # the folder it was found in, to mirror its layout under --annotate

    @property
    def relative(self) -> Path:
        return self.path.relative_to(self.root) if self.root is not None else Path(self.path.name)


def expand_inputs(paths: Iterable[str | Path]) -> Iterator[Input | Record]:
    """Files given directly, and every non-hidden file under given folders (sorted); missing paths become error records."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not is_hidden(p.relative_to(path)))
            if not files:
                yield Record(source=str(path), error=f"{path}: folder holds no files")
            for file in files:
                yield Input(file, path)
        elif path.is_file():
            yield Input(path)
        else:
            yield Record(source=str(path), error=f"{path}: no such file or folder")


def is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


@dataclass
class PredictJob:
    """Options shared by every input of one `fer predict` call."""

    predictor: Predictor
    detect: bool = True
    annotate_dir: Path | None = None
    every: int = 1
    batch: int = 32
    max_frames: int | None = None
    written: list[str] = field(default_factory=list)
    _taken: set[Path] = field(default_factory=set)

    def run(self, paths: Sequence[str | Path]) -> Iterator[Record]:
        pending: list[Input] = []
        for item in expand_inputs(paths):
            if isinstance(item, Input) and not is_video(item.path):
                pending.append(item)
                if len(pending) >= self.batch:
                    yield from self.run_images(pending)
                    pending = []
                continue
            yield from self.run_images(pending)
            pending = []
            if isinstance(item, Record):
                yield item
            else:
                yield from self.run_video(item)
        yield from self.run_images(pending)

    def run_images(self, items: Sequence[Input]) -> Iterator[Record]:
        records = [Record(source=str(item.path)) for item in items]
        images: list[np.ndarray | None] = []
        for item, record in zip(items, records, strict=True):
            try:
                images.append(read_image(item.path))
            except DataError as exc:
                record.error = str(exc)
                images.append(None)
        readable = [i for i, image in enumerate(images) if image is not None]
        faces = self.predictor.predict_batch([images[i] for i in readable], detect=self.detect)  # type: ignore[misc]
        for i, image_faces in zip(readable, faces, strict=True):
            records[i].faces = image_faces
            if self.annotate_dir is not None:
                target = self.unique_target(self.annotate_dir / items[i].relative)
                annotated = draw_predictions(images[i], image_faces, self.predictor.classes)  # type: ignore[arg-type]
                records[i].outputs.append(str(write_image(target, annotated)))
                self.written.append(records[i].outputs[-1])
        yield from records

    def run_video(self, item: Input) -> Iterator[Record]:
        import cv2

        capture = cv2.VideoCapture(str(item.path))
        if not capture.isOpened():
            capture.release()
            yield Record(source=str(item.path), error=f"{item.path}: not a readable video")
            return
        stem = self.annotate_dir / item.relative.with_suffix("") if self.annotate_dir is not None else None
        yield from self.run_capture(capture, str(item.path), stem)

    def run_webcam(self, index: int) -> Iterator[Record]:
        import cv2

        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise FerError(f"cannot open camera {index}; check --webcam INDEX and that the camera is free")
        stem = self.annotate_dir / f"webcam{index}" if self.annotate_dir is not None else None
        yield from self.run_capture(capture, f"webcam:{index}", stem, live=True)

    def run_capture(self, capture: Any, source: str, stem: Path | None, live: bool = False) -> Iterator[Record]:
        """Analyse every ``every``-th frame in batches; annotate every frame with the latest faces; then write the timeline."""
        import cv2

        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)  # 0 when the container does not say
        started = time.monotonic()
        clock = (lambda _frame: time.monotonic() - started) if live else (lambda frame: frame / fps if fps > 0 else None)
        writer = VideoWriter(self.unique_target(stem.with_name(stem.name + ".annotated.mp4")), fps) if stem is not None else None
        records: list[Record] = []
        frames: list[tuple[int, np.ndarray]] = []
        latest: list[FacePrediction] = []
        batch = 1 if live else self.batch
        index = analysed = 0
        try:
            while self.max_frames is None or index < self.max_frames:
                ok, frame = capture.read()
                if not ok:
                    break
                analysed += index % self.every == 0
                if index % self.every == 0 or writer is not None:  # skipped frames are kept only to be annotated
                    frames.append((index, frame))
                index += 1
                if analysed >= batch or len(frames) >= MAX_BUFFERED_FRAMES:
                    latest = yield from self.flush_frames(frames, source, clock, latest, writer, records)
                    frames, analysed = [], 0
            latest = yield from self.flush_frames(frames, source, clock, latest, writer, records)
        finally:
            capture.release()
            if writer is not None:
                writer.close()
        if index == 0:
            yield Record(source=source, error=f"{source}: no frames could be read")
            return
        if writer is not None and stem is not None and records:
            csv_path = self.unique_target(stem.with_name(stem.name + ".timeline.csv"))
            plot_path = self.unique_target(stem.with_name(stem.name + ".timeline.png"))
            write_timeline(records, self.predictor.classes, csv_path, plot_path, title=Path(source).name)
            records[-1].outputs.extend([str(writer.path), str(csv_path), str(plot_path)])
            self.written.extend(records[-1].outputs)

    def flush_frames(
        self,
        frames: list[tuple[int, np.ndarray]],
        source: str,
        clock: Callable[[int], float | None],
        latest: list[FacePrediction],
        writer: VideoWriter | None,
        records: list[Record],
    ) -> Iterator[Record]:
        analysed = [(i, frame) for i, frame in frames if i % self.every == 0]
        faces = dict(zip((i for i, _ in analysed), self.predictor.predict_batch([f for _, f in analysed], detect=self.detect), strict=True))
        done: list[Record] = []
        for i, frame in frames:
            if i in faces:
                latest = faces[i]
                done.append(Record(source=source, faces=latest, frame=i, time_s=clock(i)))
            if writer is not None:
                writer.write(draw_predictions(frame, latest, self.predictor.classes))
        records.extend(done)
        yield from done
        return latest

    def unique_target(self, path: Path) -> Path:
        """Never overwrite an output written earlier in this run (two inputs with the same name)."""
        candidate, n = path, 1
        while candidate in self._taken:
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
        self._taken.add(candidate)
        return candidate
