"""What `fer predict` runs: expand paths into images and videos, predict in batches, track and smooth video faces,
annotate, and yield one record per image or frame as soon as it is made."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.errors import DataError, FerError
from fer_core.predict.annotate import VideoWriter, draw_predictions, write_image, write_timeline
from fer_core.predict.images import is_media, is_video, read_image
from fer_core.predict.predictor import FacePrediction, Predictor
from fer_core.predict.tracking import DEFAULT_WINDOW, FaceSmoother

MAX_BUFFERED_FRAMES = 64  # bounds memory when --every N and --batch B would hold N*B decoded frames
GLOB_CHARS = frozenset("*?[")
ANNOTATED = ".annotated"
FFMPEG_QUIET = -8  # AV_LOG_QUIET


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


@dataclass
class Skipped:
    """Files inside given folders that are neither images nor videos (by suffix): counted, not failures."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, path: Path) -> None:
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append(str(path))


def expand_inputs(paths: Iterable[str | Path], skipped: Skipped | None = None) -> Iterator[Input | Record]:
    """Files given directly, globs (``photos/*.jpg``, ``**`` recursive), and every non-hidden image or video under
    given folders (sorted); missing paths and globs matching nothing become error records."""
    skipped = skipped if skipped is not None else Skipped()
    for raw in paths:
        path = Path(raw)
        if not path.exists() and GLOB_CHARS & set(str(raw)):
            matches = sorted(glob.glob(str(raw), recursive=True))
            if not matches:
                yield Record(source=str(raw), error=f"{raw}: no file matches this pattern")
            for match in matches:
                if Path(match).is_dir():
                    yield from expand_folder(Path(match), skipped)
                elif is_media(Path(match)):
                    yield Input(Path(match))
                else:
                    skipped.add(Path(match))
        elif path.is_dir():
            yield from expand_folder(path, skipped)
        elif path.is_file():
            yield Input(path)
        else:
            yield Record(source=str(path), error=f"{path}: no such file or folder")


def expand_folder(path: Path, skipped: Skipped) -> Iterator[Input | Record]:
    files = sorted(p for p in path.rglob("*") if p.is_file() and not is_hidden(p.relative_to(path)))
    media = [p for p in files if is_media(p)]
    for other in files:
        if not is_media(other):
            skipped.add(other)
    if not media:
        note = f" ({len(files)} other files skipped)" if files else ""
        yield Record(source=str(path), error=f"{path}: folder holds no images or videos{note}")
    for file in media:
        yield Input(file, path)


def is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """Keep OpenCV's own WARN lines (a missing camera) and FFmpeg's (``moov atom not found`` in a truncated mp4) off the
    user's terminal. FFmpeg's level is read once, when OpenCV first opens a video, so it is set before that."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", str(FFMPEG_QUIET))
    import cv2

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


@dataclass
class PredictJob:
    """Options shared by every input of one `fer predict` call.

    ``smooth``: the EMA window (analysed frames) for each tracked video face; 0 turns smoothing off (tracks stay).
    ``on_progress`` is called with (kind, count) as images ("image"), frames ("frame") and faces ("face") are done.
    """

    predictor: Predictor
    detect: bool = True
    annotate_dir: Path | None = None
    every: int = 1
    batch: int = 32
    max_frames: int | None = None
    smooth: int = DEFAULT_WINDOW
    on_progress: Callable[[str, int], None] | None = None
    written: list[str] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)
    _taken: set[Path] = field(default_factory=set)

    def run(self, paths: Sequence[str | Path]) -> Iterator[Record]:
        pending: list[Input] = []
        for item in expand_inputs(paths, self.skipped):
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

    def progress(self, kind: str, count: int) -> None:
        if self.on_progress is not None and count:
            self.on_progress(kind, count)

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
        results = self.predictor.predict_each([images[i] for i in readable], detect=self.detect)
        for i, result in zip(readable, results, strict=True):
            if isinstance(result, FerError):
                records[i].error = f"{items[i].path}: {result}"
                continue
            records[i].faces = result
            if self.annotate_dir is not None:
                target = self.annotation_target(self.annotate_dir / items[i].relative, items[i].path)
                annotated = draw_predictions(images[i], result, self.predictor.classes)  # type: ignore[arg-type]
                records[i].outputs.append(str(write_image(target, annotated)))
                self.written.append(records[i].outputs[-1])
        for record in records:
            self.progress("image", 1)
            self.progress("face", len(record.faces))
            yield record

    def run_video(self, item: Input) -> Iterator[Record]:
        import cv2

        with quiet_opencv():
            capture = cv2.VideoCapture(str(item.path))
        if not capture.isOpened():
            capture.release()
            yield Record(source=str(item.path), error=f"{item.path}: not a readable video")
            return
        stem = self.annotate_dir / item.relative.with_suffix("") if self.annotate_dir is not None else None
        yield from self.run_capture(capture, str(item.path), stem, source_path=item.path)

    def run_webcam(self, index: int) -> Iterator[Record]:
        """Open the camera now (a missing one is a FerError here, before any output), then stream its frames."""
        import cv2

        with quiet_opencv():
            capture = cv2.VideoCapture(index)
            opened = capture.isOpened()
        if not opened:
            capture.release()
            raise FerError(f"cannot open camera {index}; check --webcam INDEX and that the camera is free")
        stem = self.annotate_dir / f"webcam{index}" if self.annotate_dir is not None else None
        return self.run_capture(capture, f"webcam:{index}", stem, live=True)

    def run_capture(
        self, capture: Any, source: str, stem: Path | None, live: bool = False, source_path: Path | None = None
    ) -> Iterator[Record]:
        """Analyse every ``every``-th frame in batches; annotate every frame with the latest faces; then write the timeline."""
        import cv2

        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)  # 0 when the container does not say
        started = time.monotonic()
        clock = (lambda _frame: time.monotonic() - started) if live else (lambda frame: frame / fps if fps > 0 else None)
        writer = None
        if stem is not None:
            writer = VideoWriter(self.annotation_target(stem.with_name(stem.name + ANNOTATED + ".mp4"), source_path), fps)
        smoother = FaceSmoother(window=self.smooth)
        records: list[Record] = []
        frames: list[tuple[int, np.ndarray]] = []
        latest: list[FacePrediction] = []
        batch = 1 if live else self.batch
        index = analysed = 0
        try:
            while self.max_frames is None or index < self.max_frames:
                with quiet_opencv():
                    ok, frame = capture.read()
                if not ok or frame is None:
                    break
                analysed += index % self.every == 0
                if index % self.every == 0 or writer is not None:  # skipped frames are kept only to be annotated
                    frames.append((index, frame))
                index += 1
                if analysed >= batch or len(frames) >= MAX_BUFFERED_FRAMES:
                    latest = yield from self.flush_frames(frames, source, clock, latest, writer, records, smoother)
                    frames, analysed = [], 0
            latest = yield from self.flush_frames(frames, source, clock, latest, writer, records, smoother)
        finally:
            capture.release()
            if writer is not None:
                writer.close()
        if index == 0:
            yield Record(source=source, error=f"{source}: no frames could be read (empty, truncated or not a video)")
            return
        if writer is not None and stem is not None and records:
            csv_path = self.annotation_target(stem.with_name(stem.name + ".timeline.csv"), source_path, mark=False)
            plot_path = self.annotation_target(stem.with_name(stem.name + ".timeline.png"), source_path, mark=False)
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
        smoother: FaceSmoother,
    ) -> Iterator[Record]:
        analysed = [(i, frame) for i, frame in frames if i % self.every == 0]
        results = dict(
            zip((i for i, _ in analysed), self.predictor.predict_each([f for _, f in analysed], detect=self.detect), strict=True)
        )
        done: list[Record] = []
        for i, frame in frames:
            if i in results:
                result = results[i]
                if isinstance(result, FerError):
                    done.append(Record(source=source, frame=i, time_s=clock(i), error=f"{source} frame {i}: {result}"))
                    latest = []
                else:
                    latest = smoother(result)
                    done.append(Record(source=source, faces=latest, frame=i, time_s=clock(i)))
            if writer is not None:
                writer.write(draw_predictions(frame, latest, self.predictor.classes))
        records.extend(r for r in done if r.error is None)
        for record in done:
            self.progress("frame", 1)
            self.progress("face", len(record.faces))
            yield record
        return latest

    def annotation_target(self, path: Path, source: Path | None, *, mark: bool = True) -> Path:
        """Where an annotated output goes: never onto an input (``--annotate .`` beside the photos writes
        ``photo.annotated.jpg``), never onto an output written earlier in this run (two inputs with the same name)."""
        if mark and ANNOTATED not in path.name:
            path = path.with_name(f"{path.stem}{ANNOTATED}{path.suffix}")
        candidate, n = path, 1
        while candidate in self._taken or is_same_file(candidate, source):
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
        self._taken.add(candidate)
        return candidate


def is_same_file(a: Path, b: Path | None) -> bool:
    if b is None or not a.exists():
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
