"""Executors run a list of jobs and yield their results as they finish.

The seam for distributed execution: an executor receives only serialisable ``Job``s and a run folder,
calls ``run_job`` for each (anywhere it likes) and reports progress through ``on_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from fer_core.bench.jobs import Job, run_job
from fer_core.errors import UsageError

if TYPE_CHECKING:
    from fer_core.api import Dataset
    from fer_core.bench.cell import CellResult

EventKind = Literal["queued", "skipped", "started", "finished"]
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class CellEvent:
    kind: EventKind
    job: Job
    result: CellResult | None = None


OnEvent = Callable[[CellEvent], None]


def ignore_event(event: CellEvent) -> None:
    pass


class Executor(Protocol):
    def run(self, jobs: Sequence[Job], run_dir: Path, on_event: OnEvent = ignore_event) -> Iterator[CellResult]:
        """Run every job (in any order), yielding each ``CellResult`` as soon as it exists."""
        ...


class LocalExecutor:
    """Sequential, in this process; each data spec is loaded once and shared by its cells.

    ``datasets`` pre-seeds that cache (notebooks, tests); ``command`` is recorded in each checkpoint.
    """

    def __init__(self, datasets: Mapping[str, Dataset] | None = None, command: str | None = None) -> None:
        self._datasets: dict[str, Dataset] = dict(datasets or {})
        self.command = command

    def _dataset(self, spec: str) -> Dataset:
        if spec not in self._datasets:
            from fer_core.data.loading import load_dataset

            self._datasets[spec] = load_dataset(spec)
        return self._datasets[spec]

    def run(self, jobs: Sequence[Job], run_dir: Path, on_event: OnEvent = ignore_event) -> Iterator[CellResult]:
        for job in jobs:
            on_event(CellEvent("queued", job))
        for job in jobs:
            dataset = self._dataset(job.data)  # a bad --data fails the whole grid at once, with one line
            on_event(CellEvent("started", job))
            result = run_job(job, run_dir, dataset, command=self.command)
            on_event(CellEvent("finished", job, result))
            yield result


def make_executor(name: str | None = None, *, command: str | None = None, **options: Any) -> Executor:
    """The executor called ``name`` (``local``, the default: sequential, in this process; ``ray``: one Ray task per cell).

    ``options`` are the Ray executor's (``address``, ``cpus_per_job``, ``gpus_per_job``, ``max_retries``);
    None values mean its defaults, and any other value with ``local`` is a usage error naming the flags.
    """
    given = {key: value for key, value in options.items() if value is not None}
    if name in (None, "local"):
        if given:
            raise UsageError(f"{', '.join('--' + key.replace('_', '-') for key in given)}: only with --executor ray")
        return LocalExecutor(command=command)
    if name == "ray":
        from fer_core.bench.ray_executor import RayExecutor

        return RayExecutor(command=command, **given)
    raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not '{name}'")
