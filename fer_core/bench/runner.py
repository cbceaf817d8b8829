"""`run_bench`: plan the grid, skip finished cells, run the rest on an executor, write tables, plots and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.bench.cell import CellResult, read_result
from fer_core.bench.executors import CellEvent, Executor, LocalExecutor, OnEvent, ignore_event
from fer_core.bench.jobs import BenchSpec, Job, plan_jobs
from fer_core.bench.results import Results, build_results, write_tables
from fer_core.bench.store import cell_results, read_run, read_speed, run_jobs, write_run
from fer_core.errors import UsageError

if TYPE_CHECKING:
    from fer_core.registry import Registry

REPORT_FILE = "report.md"
MAX_LISTED = 5


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
        """Rows of cells that failed or never finished."""
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


def _partition(jobs: list[Job], run_dir: Path) -> tuple[list[Job], list[Job], list[Job]]:
    """(finished with these settings, finished with other settings, still to run)."""
    done, changed, pending = [], [], []
    for job in jobs:
        previous = read_result(run_dir / job.cell_dir)
        if previous is None or not previous.ok:
            pending.append(job)
        elif previous.config_hash == job.config_hash and previous.data == job.data:
            done.append(job)
        else:
            changed.append(job)
    return done, changed, pending


def _listing(jobs: list[Job]) -> str:
    names = [j.cell_id for j in jobs[:MAX_LISTED]]
    return ", ".join(names) + (f" and {len(jobs) - MAX_LISTED} more" if len(jobs) > MAX_LISTED else "")


def spec_of_run(run_dir: Path) -> BenchSpec:
    """The spec a run folder was made with, pointed at that folder (for ``--resume``)."""
    spec = BenchSpec.from_dict(read_run(run_dir).get("spec", {}))
    return BenchSpec.from_dict({**spec.to_dict(), "out": str(run_dir)})


def write_outputs(
    run_dir: Path, run: dict[str, Any], pairs: list[tuple[Job, CellResult | None]], speed: dict[str, Any]
) -> tuple[Results, dict[str, Any], Path]:
    """results.csv/json, plots/ and report.md from the cells' results and the run's speed phase."""
    from fer_core.bench.plots import draw_plots
    from fer_core.bench.report import render_report

    results = build_results(pairs, speed)
    write_tables(results, run_dir)
    figures = draw_plots(results, pairs, run_dir)
    report = run_dir / REPORT_FILE
    atomic.write_text(report, render_report(results, pairs, run, figures))
    return results, figures, report


def run_bench(
    spec: BenchSpec,
    executor: Executor | None = None,
    progress: OnEvent = ignore_event,
    *,
    registry: Registry | None = None,
    command: str | None = None,
    redo_changed: bool = False,
) -> BenchResult:
    """Run (or resume) the grid of ``spec`` and write its results, plots and report into the run folder.

    Cells whose ``result.json`` says ok with the same config hash and data are skipped; failed
    and unfinished cells run again. Finished cells made with other settings stop the run with a
    usage error unless ``redo_changed`` retrains them.
    """
    from fer_core.bench.environment import describe_environment
    from fer_core.registry import get_registry

    jobs = plan_jobs(spec, registry or get_registry())
    run_dir = spec.run_dir()
    done, changed, pending = _partition(jobs, run_dir)
    if changed and not redo_changed:
        raise UsageError(
            f"{run_dir}: {len(changed)} finished cell(s) were made with other settings ({_listing(changed)}); "
            "choose a new --name/--out for these settings, or pass --redo-changed to retrain them"
        )
    to_run = [job for job in jobs if job in changed or job in pending]
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = read_run(run_dir) if (run_dir / "run.json").is_file() else {}
    invocation = {"command": command, "started_at": _now(), "finished_at": None, "ran": len(to_run), "skipped": len(done)}
    run = {
        "name": run_dir.name,
        "spec": spec.to_dict(),
        "environment": describe_environment(),
        "created_at": previous.get("created_at", invocation["started_at"]),
        "invocations": [*previous.get("invocations", []), invocation],
        "jobs": [job.to_dict() for job in jobs],
    }
    write_run(run_dir, run)

    for job in done:
        progress(CellEvent("skipped", job, read_result(run_dir / job.cell_dir)))
    executor = executor or LocalExecutor(command=command)
    ran = [result.cell_id for result in executor.run(to_run, run_dir, progress)]

    invocation["finished_at"] = _now()
    write_run(run_dir, run)
    results, figures, report = write_outputs(run_dir, run, cell_results(run_dir, jobs), read_speed(run_dir))
    return BenchResult(run_dir, results, report, figures, ran=ran, skipped=[job.cell_id for job in done])


def rebuild_report(run_dir: Path) -> BenchResult:
    """`fer report`: rebuild results, plots and report.md of a run from its saved cell results, without training."""
    run = read_run(run_dir)
    jobs = run_jobs(run)
    if not jobs:
        raise UsageError(f"{run_dir}: run.json lists no cells")
    results, figures, report = write_outputs(run_dir, run, cell_results(run_dir, jobs), read_speed(run_dir))
    return BenchResult(run_dir, results, report, figures)
