"""Balance or longer training? SMOTE at 40 epochs against 'none' at the same number of gradient steps.

    .venv/bin/python benchmarks/ckplus_steps_compare.py benchmarks/ckplus_grid/results.csv \\
        benchmarks/ckplus_steps_control/results.csv

GRID is the CK+ grid (40 epochs; a SMOTE epoch holds 1.81x the images of a 'none' one); CONTROL trains 'none' for
72 epochs on the same folds (benchmarks/ckplus_steps_control.sh). For every model in both, prints the mean test
macro-F1 of each and the paired differences over folds with their 95% t-intervals (``*``: the interval excludes 0).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

from fer_core.bench.stats import paired_t

Scores = dict[tuple[str, str], dict[int, float]]


def read(path: Path, metric: str) -> Scores:
    """(model, balancer) -> fold -> ``test_<metric>`` of the finished cells."""
    scores: Scores = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["status"] == "ok" and row[f"test_{metric}"]:
                scores.setdefault((row["model"], row["balancer"]), {})[int(row["fold"])] = float(row[f"test_{metric}"])
    return scores


def difference(a: dict[int, float], b: dict[int, float]) -> str:
    """Paired over the folds both have finished; '-' unless they have the same folds, at least two."""
    if sorted(a) != sorted(b) or len(a) < 2:
        return f"- ({len(a)} vs {len(b)} folds)"
    deltas = [a[f] - b[f] for f in sorted(a)]
    interval, p_value = paired_t(deltas)
    if interval is None:
        return "-"
    mark = "*" if p_value is not None and (interval[0] > 0 or interval[1] < 0) else ""
    return f"{statistics.fmean(deltas):+.3f} ({interval[0]:+.3f}, {interval[1]:+.3f}){mark}"


def mean(scores: dict[int, float], folds: int) -> str:
    text = f"{statistics.fmean(scores.values()):.3f}"
    return text + (f" (n={len(scores)})" if len(scores) < folds else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("grid", type=Path)
    parser.add_argument("control", type=Path)
    parser.add_argument("--metric", default="macro_f1", choices=["macro_f1", "accuracy"])
    args = parser.parse_args(argv)
    try:
        grid, control = read(args.grid, args.metric), read(args.control, args.metric)
        if not grid or not control:
            raise ValueError(f"no finished cell in {args.grid if not grid else args.control}")
    except (OSError, KeyError, ValueError) as exc:
        print(f"error: not a folded fer bench results.csv ({exc})", file=sys.stderr)
        return 1
    print(f"test {args.metric}, mean over folds; differences paired by fold, 95% t-interval\n")
    print("| model | none, 40 ep | none, 72 ep | smote, 40 ep | none 72 - none 40 | smote 40 - none 72 |")
    print("|---|---:|---:|---:|---|---|")
    for (model, balancer), longer in control.items():
        if balancer != "none" or (model, "none") not in grid or (model, "smote") not in grid:
            continue
        short, smote = grid[(model, "none")], grid[(model, "smote")]
        means = " | ".join(mean(s, len(longer)) for s in (short, longer, smote))
        print(f"| {model} | {means} | {difference(longer, short)} | {difference(smote, longer)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
