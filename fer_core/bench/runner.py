"""`run_bench`: plan the grid, skip finished cells, run the rest, time every architecture, write tables, plots and report.

The run folder is locked for the whole run (``bench.lock``). A rerun merges its plan into the jobs of
run.json, so a rerun with fewer ``--models`` keeps the other finished cells in the tables. The tables are
built from the results in memory (the finished cells read once at the start, the new ones as the
executor returns them), not by reading every result.json again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.bench.cell import CellResult
from fer_core.bench.executors import CellEvent, Executor, LocalExecutor, OnEvent, ignore_event
from fer_core.bench.jobs import BenchSpec, Job, plan_jobs
from fer_core.bench.lock import run_lock
from fer_core.bench.results import Results, build_results, write_tables
from fer_core.bench.speed import SpeedSettings, needs_measuring, speed_phase
from fer_core.bench.store import CORRUPT, cell_results, merge_jobs, read_run, read_speed, run_jobs, write_run, write_speed
from fer_core.errors import FerError, UsageError

if TYPE_CHECKING:
    from fer_core.registry import Registry

REPORT_FILE = "report.md"
MAX_LISTED = 5
Pairs = list[tuple[Job, CellResult | None]]


@dataclass
class BenchResult:
    run_dir: Path
    results: Results
    report: Path
    figures: dict[str, Any] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def incomplete(self) -> list[dict[str, Any]]:
        """Rows of cells that failed, never finished or whose result.json is damaged."""
        return self.results.failed()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "report": str(self.report),
            "ran": self.ran,
            "skipped": self.skipped,
            "incomplete": [r["cell_id"] for r in self.incomplete],
            **self.results.to_dict(),
            "figures": self.figures,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _partition(jobs: list[Job], saved: dict[str, CellResult | None]) -> tuple[list[Job], list[Job], list[Job]]:
    """(finished with these settings, finished with other settings, still to run)."""
    done, changed, pending = [], [], []
    for job in jobs:
        previous = saved.get(job.cell_id)
        if previous is None or not previous.ok:
            pending.append(job)
        elif previous.config_hash == job.config_hash and previous.data == job.data and previous.test_data == job.test_data:
            done.append(job)
        else:
            changed.append(job)
    return done, changed, pending


def _listing(names: list[str]) -> str:
    return ", ".join(names[:MAX_LISTED]) + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _refuse_damaged(planned: list[Job], saved: dict[str, CellResult | None]) -> None:
    damaged = [saved[job.cell_id] for job in planned if (r := saved.get(job.cell_id)) is not None and r.status == CORRUPT]
    if damaged:
        first = damaged[0].error if damaged[0] is not None else ""
        raise UsageError(
            f"{len(damaged)} cell result(s) damaged: {first}"
            + (f" (and {_listing([d.cell_id for d in damaged[1:] if d is not None])})" if len(damaged) > 1 else "")
            + "; move the damaged result.json away to retrain the cell"
        )


def spec_of_run(run_dir: Path) -> BenchSpec:
    """The spec a run folder was made with, pointed at that folder (for ``--resume``)."""
    spec = BenchSpec.from_dict(read_run(run_dir).get("spec", {}))
    return BenchSpec.from_dict({**spec.to_dict(), "out": str(run_dir)})


def write_outputs(run_dir: Path, run: dict[str, Any], pairs: Pairs, speed: dict[str, Any]) -> tuple[Results, dict[str, Any], Path]:
    """results.csv/json, plots/ and report.md from the cells' results and the run's speed phase."""
    from fer_core.bench.plots import draw_plots
    from fer_core.bench.report import render_report

    results = build_results(pairs, speed)
    write_tables(results, run_dir)
    figures = draw_plots(results, pairs, run_dir)
    report = run_dir / REPORT_FILE
    atomic.write_text(report, render_report(results, pairs, run, figures))
    return results, figures, report


def _measure(run_dir: Path, pairs: Pairs, ran: list[str], settings: SpeedSettings | None) -> dict[str, Any]:
    """The speed phase when cells ran or an architecture lacks a figure; else the saved one."""
    previous = read_speed(run_dir)
    if settings is None or not needs_measuring(previous, pairs, ran):
        return previous
    speed = speed_phase(run_dir, pairs, settings)
    if speed:
        write_speed(run_dir, speed)
    return speed


def run_bench(
    spec: BenchSpec,
    executor: Executor | None = None,
    progress: OnEvent = ignore_event,
    *,
    registry: Registry | None = None,
    command: str | None = None,
    redo_changed: bool = False,
    speed: SpeedSettings | None = SpeedSettings(),
) -> BenchResult:
    """Run (or resume) the grid of ``spec`` and write its results, plots and report into the run folder.

    Cells whose ``result.json`` says ok with the same config hash and data are skipped; failed
    and unfinished cells run again. Finished cells made with other settings stop the run with a
    usage error unless ``redo_changed`` retrains them; so does a damaged result.json of a planned cell.
    ``speed`` sets the speed phase (None skips it: rows show what each cell measured itself).
    """
    from fer_core.registry import get_registry

    jobs = plan_jobs(spec, registry or get_registry())
    run_dir = spec.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir, command):
        return _run_locked(spec, jobs, run_dir, executor, progress, command, redo_changed, speed)


def _run_locked(
    spec: BenchSpec,
    jobs: list[Job],
    run_dir: Path,
    executor: Executor | None,
    progress: OnEvent,
    command: str | None,
    redo_changed: bool,
    speed: SpeedSettings | None,
) -> BenchResult:
    from fer_core.bench.environment import describe_environment

    previous = read_run(run_dir) if (run_dir / "run.json").exists() else {}
    all_jobs = merge_jobs(run_jobs(previous), jobs)
    saved = dict((job.cell_id, result) for job, result in cell_results(run_dir, all_jobs))
    _refuse_damaged(jobs, saved)
    done, changed, pending = _partition(jobs, saved)
    if changed and not redo_changed:
        raise UsageError(
            f"{run_dir}: {len(changed)} finished cell(s) were made with other settings ({_listing([j.cell_id for j in changed])}); "
            "choose a new --name/--out for these settings, or pass --redo-changed to retrain them"
        )
    to_run = [job for job in jobs if job in changed or job in pending]
    invocation = {"command": command, "started_at": _now(), "finished_at": None, "ran": len(to_run), "skipped": len(done)}
    run = {
        "name": run_dir.name,
        "spec": spec.to_dict(),
        "environment": describe_environment(),
        "created_at": previous.get("created_at", invocation["started_at"]),
        "invocations": [*previous.get("invocations", []), invocation],
        "jobs": [job.to_dict() for job in all_jobs],
    }
    write_run(run_dir, run)

    for job in done:
        progress(CellEvent("skipped", job, saved[job.cell_id]))
    executor = executor or LocalExecutor(command=command)
    ran = []
    for result in executor.run(to_run, run_dir, progress):
        saved[result.cell_id] = result
        ran.append(result.cell_id)

    invocation["finished_at"] = _now()
    write_run(run_dir, run)
    pairs = [(job, saved.get(job.cell_id)) for job in all_jobs]
    phase = _measure(run_dir, pairs, ran, speed)
    results, figures, report = write_outputs(run_dir, run, pairs, phase)
    return BenchResult(run_dir, results, report, figures, ran=ran, skipped=[job.cell_id for job in done])


def rebuild_report(run_dir: Path) -> BenchResult:
    """`fer report`: rebuild results, plots and report.md of a run from its saved cell results, without training.

    A damaged result.json is reported as a ``corrupt`` row; after writing everything, it is a one-line error (exit 1).
    """
    run = read_run(run_dir)
    jobs = run_jobs(run)
    if not jobs:
        raise UsageError(f"{run_dir}: run.json lists no cells")
    with run_lock(run_dir, "fer report"):
        results, figures, report = write_outputs(run_dir, run, cell_results(run_dir, jobs), read_speed(run_dir))
    damaged = results.corrupt()
    if damaged:
        raise FerError(f"{len(damaged)} cell result(s) damaged: {damaged[0]['error']}; see {report}")
    return BenchResult(run_dir, results, report, figures)
