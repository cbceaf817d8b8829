"""Which balancer helps which model on which class: per-class test F1 of a folded grid, paired by fold.

    .venv/bin/python benchmarks/ckplus_per_class.py benchmarks/ckplus_grid/results.csv

For every model with all folds finished for ``none`` and a balancer, prints a markdown table: per class, the mean
F1 without a balancer, and each balancer's mean paired difference with its 95% t-interval over folds; ``*`` marks
an interval that excludes 0 (a difference outside the fold noise).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from fer_core.bench.stats import BASELINE, paired_t


def read(path: Path) -> tuple[list[str], dict[tuple[str, str], dict[int, dict[str, float]]]]:
    """The class columns and (model, balancer) -> fold -> class -> F1 of the finished cells."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "ok"]
    if not rows:
        return [], {}
    classes = [c.removeprefix("f1_") for c in rows[0] if c.startswith("f1_")]
    cells: dict[tuple[str, str], dict[int, dict[str, float]]] = defaultdict(dict)
    for r in rows:
        scores = {c: float(r[f"f1_{c}"]) for c in classes if r[f"f1_{c}"] != ""}
        cells[(r["model"], r["balancer"])][int(r["fold"])] = scores
    return classes, cells


def table(model: str, classes: list[str], cells: dict, balancers: list[str]) -> list[str]:
    base = cells[(model, BASELINE)]
    header = ["class", "none F1", *[f"{b} - none (95% CI)" for b in balancers]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in classes:
        row = [c, f"{statistics.fmean(base[f][c] for f in base):.2f}"]
        for b in balancers:
            other = cells[(model, b)]
            deltas = [other[f][c] - base[f][c] for f in sorted(base) if f in other and c in other[f] and c in base[f]]
            interval, _ = paired_t(deltas)
            if interval is None:
                row.append("-")
                continue
            mark = "*" if interval[0] > 0 or interval[1] < 0 else ""
            row.append(f"{statistics.fmean(deltas):+.2f} ({interval[0]:+.2f}, {interval[1]:+.2f}){mark}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="results.csv of a folded fer bench run")
    args = parser.parse_args(argv)
    try:
        classes, cells = read(args.results)
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: {args.results}: not a folded fer bench results.csv ({exc})", file=sys.stderr)
        return 1
    models = list(dict.fromkeys(m for m, _ in cells))
    complete = lambda m, b: len(cells.get((m, b), {})) == len(cells.get((m, BASELINE), {})) > 1  # noqa: E731
    for model in models:
        balancers = [b for m, b in cells if m == model and b != BASELINE and complete(m, b)]
        if not balancers:
            continue
        print(f"\n**{model}** ({len(cells[(model, BASELINE)])} folds)\n")
        print("\n".join(table(model, classes, cells, balancers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
