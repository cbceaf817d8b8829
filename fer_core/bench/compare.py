"""`fer compare`: per-cell differences between two runs (accuracy, macro-F1, speed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fer_core.bench.results import Results, build_results
from fer_core.bench.store import cell_results, read_run, run_jobs


def load_results(run_dir: Path) -> Results:
    return build_results(cell_results(run_dir, run_jobs(read_run(run_dir))))


def _delta(a: Any, b: Any) -> float | None:
    return b - a if isinstance(a, int | float) and isinstance(b, int | float) else None


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    """Cells matched by id; B minus A for accuracy and macro-F1, B / A for images/s."""
    a, b = load_results(run_a), load_results(run_b)
    split = "test" if a.ranking_split == b.ranking_split == "test" else "val"
    rows_a = {r["cell_id"]: r for r in a.rows}
    rows_b = {r["cell_id"]: r for r in b.rows}
    cells = list(rows_a) + [c for c in rows_b if c not in rows_a]
    rows = []
    for cell in cells:
        ra, rb = rows_a.get(cell, {}), rows_b.get(cell, {})
        acc_a, acc_b = ra.get(f"{split}_accuracy"), rb.get(f"{split}_accuracy")
        f1_a, f1_b = ra.get(f"{split}_macro_f1"), rb.get(f"{split}_macro_f1")
        speed_a, speed_b = ra.get("images_per_s"), rb.get("images_per_s")
        rows.append(
            {
                "cell_id": cell,
                "status_a": ra.get("status", "absent"),
                "status_b": rb.get("status", "absent"),
                "accuracy_a": acc_a,
                "accuracy_b": acc_b,
                "accuracy_delta": _delta(acc_a, acc_b),
                "macro_f1_a": f1_a,
                "macro_f1_b": f1_b,
                "macro_f1_delta": _delta(f1_a, f1_b),
                "images_per_s_a": speed_a,
                "images_per_s_b": speed_b,
                "speed_ratio": speed_b / speed_a if speed_a and speed_b else None,
                "same_config": ra.get("config_hash") == rb.get("config_hash") if ra and rb else None,
            }
        )
    return {"run_a": str(run_a), "run_b": str(run_b), "split": split, "cells": rows}
