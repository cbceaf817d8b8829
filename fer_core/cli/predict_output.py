"""How `fer predict` hands out its records as they come: text lines, JSON lines, or one JSON/CSV document at the end,
with a progress bar and the summary on stderr. The document is printed even when the run stops early."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from fer_core.predict.pipeline import PredictJob, Record


class PredictOutput:
    def __init__(self, fmt: str, header: dict[str, Any], classes: Sequence[str], *, quiet: bool = False) -> None:
        self.fmt = fmt
        self.header = header
        self.classes = tuple(classes)
        self.quiet = quiet
        self.records: list[Record] = []
        self.job: PredictJob | None = None
        self.counts = {"image": 0, "frame": 0, "face": 0}
        self.started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    @property
    def failed(self) -> int:
        return sum(r.error is not None for r in self.records)

    def __enter__(self) -> PredictOutput:
        from fer_core.cli.console import err

        if not self.quiet and err.is_terminal:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("starting")
        return self

    def advance(self, kind: str, count: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count
        if self._progress is not None:
            seconds = max(time.monotonic() - self.started, 1e-6)
            c = self.counts
            text = f"{c['image']} images, {c['frame']} frames, {c['face']} faces ({c['face'] / seconds:.1f} faces/s)"
            self._progress.update(self._task, description=text)

    def add(self, record: Record) -> None:
        from fer_core.predict.report import text_lines

        self.records.append(record)
        if self.fmt == "text":
            for line in text_lines(record):
                self.echo(line)
        elif self.fmt == "jsonl":
            self.echo(json.dumps(record.to_dict(), allow_nan=False))
            sys.stdout.flush()
        elif record.error is not None:
            warn(f"{record.error}; skipped")

    def echo(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.file.flush()
        typer.echo(line)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        from fer_core.predict.report import csv_text, json_document

        if self._progress is not None:
            self._progress.stop()
        skipped = self.job.skipped if self.job is not None else None
        if self.fmt == "json":
            document = json_document(self.records, self.header)
            if skipped is not None:
                document["summary"]["skipped"] = skipped.count
            if exc_type is not None:
                document["stopped"] = "interrupted" if issubclass(exc_type, KeyboardInterrupt) else f"{exc_type.__name__}: {exc}"
            with _uninterrupted():
                typer.echo(json.dumps(document, indent=2, allow_nan=False))
        elif self.fmt == "csv":
            with _uninterrupted():
                typer.echo(csv_text(self.records, self.classes), nl=False)
        if not self.quiet:
            self.summary(skipped)

    def summary(self, skipped: Any) -> None:
        from fer_core.predict.report import summarize

        counts = summarize(self.records)
        job = self.job
        note = f"; annotated output in {job.annotate_dir}" if job is not None and job.annotate_dir is not None and job.written else ""
        skip = ""
        if skipped is not None and skipped.count:
            skip = f"; {skipped.count} files skipped (neither image nor video, e.g. {skipped.examples[0]})"
        found = f"{counts['faces']} faces, {counts['no_face']} without a face, {counts['failed']} failed"
        info(f"{counts['inputs']} images/frames: {found}{skip}{note}")


def warn(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def info(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(escape(message), highlight=False)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C waits while the final document is written (into a slow pipe a cut write leaves invalid JSON)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
