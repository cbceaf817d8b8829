"""Keep a long bench grid's finished cells across machines: their results in git, their weights left behind.

A grid that needs more CPU-hours than one session has (benchmarks/ckplus_grid.sh) runs in pieces, sometimes on
several machines at once and on machines whose run folders do not outlive the session. This script moves the
finished cells' ``result.json`` and ``history.json`` (no checkpoints) between run folders:

    python benchmarks/grid_archive.py save runs/ckplus-grid benchmarks/ckplus_grid      # after a piece
    python benchmarks/grid_archive.py restore benchmarks/ckplus_grid runs/ckplus-grid   # before the next one
    python benchmarks/grid_archive.py merge runs/ckplus-grid-b runs/ckplus-grid         # a second process's cells

A cell is copied only when the target run plans a job with the same cell id and the same settings (config hash)
and does not already hold a result for it; ``fer bench`` then skips it and ``fer report`` counts it. Restored cells
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
from fer_core.bench.store import RUN_FILE, SPEED_FILE, read_run, run_jobs
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
        copied, refused = copy_cells(source, run_dir)
    finally:
        release(lock)
    note = f"; {refused} skipped: {run_dir} plans them differently or not at all" if refused else ""
    return f"{run_dir}: {copied} cells copied from {source}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["save", "restore", "merge"])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.action == "save":
            print(save(args.source, args.target))
        else:
            print(into_run(args.source, args.target, create=args.action == "restore"))
    except (UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
