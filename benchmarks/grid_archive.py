"""Keep a long bench grid's finished cells across machines: their results in git, their weights left behind.

A grid that needs more CPU-hours than one session has (benchmarks/ckplus_grid.sh) runs in pieces, sometimes on
several machines at once and on machines whose run folders do not outlive the session. This script moves the
finished cells' ``result.json`` and ``history.json`` (no checkpoints) between run folders:

    python benchmarks/grid_archive.py save runs/ckplus-grid benchmarks/ckplus_grid      # after a piece
    python benchmarks/grid_archive.py restore benchmarks/ckplus_grid runs/ckplus-grid   # before the next one
    python benchmarks/grid_archive.py merge runs/ckplus-grid-b runs/ckplus-grid         # a second process's cells
    python benchmarks/grid_archive.py drop runs/ckplus-grid vgg16                         # a model leaves the plan

A cell is copied only when the target run plans a job with the same cell id and the same settings (config hash)
and does not already hold a result for it; ``fer bench`` then skips it and ``fer report`` counts it. ``merge``
first adds to the target's plan the jobs that only the source plans (a model the second process took up under a
new name). ``drop`` takes a model's jobs out of a run's plan, and refuses while the run holds a finished cell of it. Restored cells
have no checkpoint, so the speed phase times their architecture from any cell that has one, else keeps the cells'
own figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from fer_core import atomic
from fer_core.bench.cell import RESULT_FILE
from fer_core.bench.lock import acquire, release
from fer_core.bench.store import RUN_FILE, SPEED_FILE, read_run, run_jobs, write_run
from fer_core.errors import UsageError

KEPT = (RESULT_FILE, "history.json")


def copy(source: Path, target: Path) -> None:
    """An interrupted copy leaves the old file or none, never half a result.json."""
    atomic.write_with(target, lambda tmp: shutil.copyfile(source, tmp))


def finished(run_dir: Path) -> dict[str, tuple[Path, str]]:
    """cell id -> (cell folder, config hash) of each planned cell of ``run_dir`` whose result.json is readable."""
    cells = {}
    for job in run_jobs(read_run(run_dir)):
        folder = run_dir / job.cell_dir
        try:
            result = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(result, dict) and result.get("cell_id") == job.cell_id and result.get("config_hash") == job.config_hash:
            cells[job.cell_id] = (folder, job.config_hash)
    return cells


def copy_cells(source: Path, target: Path) -> tuple[int, int]:
    """Copy ``source``'s finished cells that ``target`` plans with the same settings and lacks; (copied, refused)."""
    have = finished(target)
    planned = {job.cell_id: job for job in run_jobs(read_run(target))}
    copied = refused = 0
    for cell_id, (folder, config_hash) in finished(source).items():
        job = planned.get(cell_id)
        if job is None or job.config_hash != config_hash:
            refused += 1
            continue
        if cell_id in have:
            continue
        destination = target / job.cell_dir
        destination.mkdir(parents=True, exist_ok=True)
        for name in KEPT[::-1]:  # result.json last: a cell counts as finished only once its files are all there
            if (folder / name).is_file():
                copy(folder / name, destination / name)
        copied += 1
    return copied, refused


def save(run_dir: Path, archive: Path) -> str:
    archive.mkdir(parents=True, exist_ok=True)
    copy(run_dir / RUN_FILE, archive / RUN_FILE)
    if (run_dir / SPEED_FILE).is_file():
        copy(run_dir / SPEED_FILE, archive / SPEED_FILE)
    cells = finished(run_dir)
    for folder, _ in cells.values():
        kept = archive / folder.relative_to(run_dir)
        kept.mkdir(parents=True, exist_ok=True)
        for name in KEPT:
            if (folder / name).is_file():
                copy(folder / name, kept / name)
    return f"{archive}: {len(cells)} finished cells of {run_dir} (results and histories, no weights)"


def into_run(source: Path, run_dir: Path, *, create: bool) -> str:
    if create and not (source / RUN_FILE).exists():
        return f"{run_dir}: nothing to restore ({source} holds no {RUN_FILE})"
    if create and not (run_dir / RUN_FILE).exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        copy(source / RUN_FILE, run_dir / RUN_FILE)
        if (source / SPEED_FILE).is_file():
            copy(source / SPEED_FILE, run_dir / SPEED_FILE)
    lock = acquire(run_dir, "grid_archive")
    try:
        adopted = 0 if create else adopt_plan(source, run_dir)
        copied, refused = copy_cells(source, run_dir)
    finally:
        release(lock)
    note = f"; {refused} skipped: {run_dir} plans them differently or not at all" if refused else ""
    planned = f"; {adopted} jobs added to its plan" if adopted else ""
    return f"{run_dir}: {copied} cells copied from {source}{note}{planned}"


def adopt_plan(source: Path, run_dir: Path) -> int:
    """Append to ``run_dir``'s plan the jobs of ``source`` whose cell ids it does not plan; how many."""
    run = read_run(run_dir)
    known = {job.cell_id for job in run_jobs(run)}
    new = [job for job in run_jobs(read_run(source)) if job.cell_id not in known]
    if new:
        write_run(run_dir, {**run, "jobs": [*run.get("jobs", []), *(job.to_dict() for job in new)]})
    return len(new)


def drop(run_dir: Path, model: str) -> str:
    lock = acquire(run_dir, "grid_archive")
    try:
        run = read_run(run_dir)
        jobs = run_jobs(run)
        kept = [job for job in jobs if job.model != model]
        if len(kept) == len(jobs):
            raise UsageError(f"{run_dir} plans no cell of model '{model}'")
        kept_ids = {job.cell_id for job in kept}
        finished_here = sorted(cell_id for cell_id in finished(run_dir) if cell_id not in kept_ids)
        if finished_here:
            count, first = len(finished_here), finished_here[0]
            raise UsageError(f"{run_dir} holds {count} finished cell(s) of '{model}' ({first}, ...); move them aside first")
        write_run(run_dir, {**run, "jobs": [job.to_dict() for job in kept]})
    finally:
        release(lock)
    return f"{run_dir}: {len(jobs) - len(kept)} jobs of {model} dropped from the plan, {len(kept)} left"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "restore", "merge", "drop"])
    parser.add_argument("source", type=Path, help="the run or archive read (drop: the run)")
    parser.add_argument("target", help="the run or archive written (drop: the model)")
    args = parser.parse_args(argv)
    try:
        if args.action == "drop":
            print(drop(args.source, args.target))
        elif args.action == "save":
            print(save(args.source, Path(args.target)))
        else:
            print(into_run(args.source, Path(args.target), create=args.action == "restore"))
    except (UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
