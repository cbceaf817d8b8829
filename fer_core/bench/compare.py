"""`fer compare`: per-cell differences between two runs, for every compared metric of ``bench.schema``.

Per-split metrics (accuracy, macro-F1) are compared as B minus A; speed metrics as B / A, and a speed
difference whose two spreads (the speed phase's range over its timing rounds) overlap is called noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fer_core.bench import schema
from fer_core.bench.results import Results, build_results
from fer_core.bench.store import cell_results, read_run, read_speed, run_jobs


def load_results(run_dir: Path) -> Results:
    return build_results(cell_results(run_dir, run_jobs(read_run(run_dir))), read_speed(run_dir))


def _delta(a: Any, b: Any) -> float | None:
    return b - a if isinstance(a, int | float) and isinstance(b, int | float) else None


def _spread(row: dict[str, Any], column: str) -> tuple[float, float] | None:
    lo, hi = row.get(f"{column}_lo"), row.get(f"{column}_hi")
    return (float(lo), float(hi)) if isinstance(lo, int | float) and isinstance(hi, int | float) else None


def speed_noise(row_a: dict[str, Any], row_b: dict[str, Any], column: str) -> bool | None:
    """True when the two runs' speed spreads overlap (the difference is noise); None when a spread is unknown."""
    a, b = _spread(row_a, column), _spread(row_b, column)
    if a is None or b is None:
        return None
    return a[0] <= b[1] and b[0] <= a[1]


def _compare_row(cell: str, ra: dict[str, Any], rb: dict[str, Any], split: str) -> dict[str, Any]:
    row: dict[str, Any] = {"cell_id": cell, "status_a": ra.get("status", "absent"), "status_b": rb.get("status", "absent")}
    for m in schema.compare_metrics():
        column = m.column(split)
        a, b = ra.get(column), rb.get(column)
        row[f"{m.name}_a"], row[f"{m.name}_b"] = a, b
        if m.speed:
            row[f"{m.name}_ratio"] = b / a if isinstance(a, int | float) and isinstance(b, int | float) and a and b else None
            row[f"{m.name}_noise"] = speed_noise(ra, rb, column)
        else:
            row[f"{m.name}_delta"] = _delta(a, b)
    row["speed_ratio"], row["speed_noise"] = row.get("images_per_s_ratio"), row.get("images_per_s_noise")
    row["same_config"] = ra.get("config_hash") == rb.get("config_hash") if ra and rb else None
    return row


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Cells matched by id; B minus A for accuracy and macro-F1, B / A for images/s (with a noise verdict)."""
    a, b = load_results(run_a), load_results(run_b)
    split = "test" if a.ranking_split == b.ranking_split == "test" else "val"
    rows_a = {r["cell_id"]: r for r in a.rows}
    rows_b = {r["cell_id"]: r for r in b.rows}
    cells = list(rows_a) + [c for c in rows_b if c not in rows_a]
    rows = [_compare_row(cell, rows_a.get(cell, {}), rows_b.get(cell, {}), split) for cell in cells]
    corrupt = [f"A {r['cell_id']}" for r in a.corrupt()] + [f"B {r['cell_id']}" for r in b.corrupt()]
    return {"run_a": str(run_a), "run_b": str(run_b), "split": split, "cells": rows, "corrupt": corrupt}
