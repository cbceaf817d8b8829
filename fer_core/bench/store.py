"""The run folder: ``run.json`` (spec, jobs, environment, invocations) and each cell's saved result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fer_core import atomic
from fer_core.bench.cell import CellResult, read_result
from fer_core.bench.jobs import Job
from fer_core.errors import UsageError

RUN_FILE = "run.json"


def read_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a fer bench run folder (no {RUN_FILE})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path}: unreadable ({exc})") from None


def write_run(run_dir: Path, run: dict[str, Any]) -> None:
    atomic.write_json(run_dir / RUN_FILE, run)


def run_jobs(run: dict[str, Any]) -> list[Job]:
    return [Job.from_dict(job) for job in run.get("jobs", [])]


def cell_results(run_dir: Path, jobs: list[Job]) -> list[tuple[Job, CellResult | None]]:
    """Each planned job with its finished result, or None while it has none."""
    return [(job, read_result(run_dir / job.cell_dir)) for job in jobs]
