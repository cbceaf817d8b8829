"""The run folder: ``run.json`` (spec, jobs, environment, invocations), ``speed.json`` and each cell's saved result.

Damaged files never crash a reader: a damaged ``run.json`` is one usage line; a damaged ``result.json``
becomes a cell with status ``corrupt`` (reported, and the commands that read it exit non-zero).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from fer_core import atomic
from fer_core.bench.cell import RESULT_FILE, CellResult
from fer_core.bench.jobs import Job
from fer_core.errors import UsageError

RUN_FILE = "run.json"
SPEED_FILE = "speed.json"
CORRUPT = "corrupt"  # the status of a cell whose result.json is damaged
_JOB_TYPES = {"cell_id": str, "model": str, "balancer": str, "seed": int, "data": str, "config": dict, "config_hash": str, "cell_dir": str}


def read_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a fer bench run folder (no {RUN_FILE})")
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: damaged, not readable JSON ({exc})") from None
    if not isinstance(run, dict) or not isinstance(run.get("jobs", []), list) or not isinstance(run.get("invocations", []), list):
        raise UsageError(f"{path}: damaged (not the object fer bench writes, with 'jobs' and 'invocations' lists)")
    return run


def write_run(run_dir: Path, run: dict[str, Any]) -> None:
    atomic.write_json(run_dir / RUN_FILE, run)


def _job(data: Any, index: int) -> Job:
    if not isinstance(data, dict):
        raise UsageError(f"{RUN_FILE}: damaged: job {index + 1} is not an object")
    for name, kind in _JOB_TYPES.items():
        if not isinstance(data.get(name), kind) or (kind is int and isinstance(data.get(name), bool)):
            raise UsageError(f"{RUN_FILE}: damaged: job {index + 1} has no valid '{name}'")
    cell_dir = Path(data["cell_dir"])
    if cell_dir.is_absolute() or ".." in cell_dir.parts:
        raise UsageError(f"{RUN_FILE}: damaged: job {index + 1} names a cell folder outside the run ('{data['cell_dir']}')")
    fold = data.get("fold")
    if fold is not None and (not isinstance(fold, int) or isinstance(fold, bool) or fold < 1):
        raise UsageError(f"{RUN_FILE}: damaged: job {index + 1} has no valid 'fold'")
    if data.get("test_data") is not None and not isinstance(data["test_data"], str):
        raise UsageError(f"{RUN_FILE}: damaged: job {index + 1} has no valid 'test_data'")
    return Job.from_dict({f.name: data[f.name] for f in fields(Job) if f.name in data})


def run_jobs(run: dict[str, Any]) -> list[Job]:
    return [_job(job, i) for i, job in enumerate(run.get("jobs", []))]


def merge_jobs(previous: list[Job], planned: list[Job]) -> list[Job]:
    """The run's jobs after a rerun: earlier cells keep their place (replaced by this plan's job of the same id), new ones follow.

    A rerun with a subset of ``--models`` must not drop the other finished cells from run.json and the tables.
    """
    mine = {job.cell_id: job for job in planned}
    merged = [mine.pop(job.cell_id, job) for job in previous]
    return merged + [job for job in planned if job.cell_id in mine]


def load_result(cell_dir: Path, job: Job) -> CellResult | None:
    """The cell's saved result; None when it has none yet; a ``corrupt`` result naming the damage when unreadable."""
    path = cell_dir / RESULT_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        result = CellResult.from_dict(data)
        if not isinstance(result.status, str) or not isinstance(result.metrics, dict) or not isinstance(result.speed, dict):
            raise ValueError("fields of the wrong type")
        if not all(isinstance(v, dict) for v in result.metrics.values()):
            raise ValueError("metrics of the wrong type")
    except (OSError, ValueError, TypeError) as exc:
        damaged = CellResult.failed(job, error=f"{job.cell_dir}/{RESULT_FILE} is damaged ({str(exc).splitlines()[0][:120]})")
        damaged.status = CORRUPT
        return damaged
    return result


def cell_results(run_dir: Path, jobs: list[Job]) -> list[tuple[Job, CellResult | None]]:
    """Each planned job with its saved result, or None while it has none."""
    return [(job, load_result(run_dir / job.cell_dir, job)) for job in jobs]


def read_speed(run_dir: Path) -> dict[str, Any]:
    """The run's speed phase (``bench.speed``), {} when it has none or the file is unreadable (cells' own figures are used)."""
    try:
        speed = json.loads((run_dir / SPEED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return speed if isinstance(speed, dict) and isinstance(speed.get("models", {}), dict) else {}


def write_speed(run_dir: Path, speed: dict[str, Any]) -> None:
    atomic.write_json(run_dir / SPEED_FILE, speed)
