"""The CK+ grid's main table for benchmarks/ckplus_grid.md, from the results.json that `fer report` writes.

    .venv/bin/python benchmarks/ckplus_table.py benchmarks/ckplus_grid/results.json

One row per model with all of its groups finished: test accuracy / macro-F1 as mean ± sd over folds for none,
weighted and smote. A balancer's macro-F1 is bold when its paired difference from none over folds is outside the
noise (95% interval excludes 0), marked (~) when inside. Models with unfinished groups are listed below the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BALANCERS = ("none", "weighted", "smote")


def cell(group: dict, comparison: dict | None) -> str:
    acc = f"{group['test_accuracy_mean']:.3f}±{group['test_accuracy_sd']:.3f}"
    f1 = f"{group['test_macro_f1_mean']:.3f}±{group['test_macro_f1_sd']:.3f}"
    if comparison is None:
        return f"{acc} / {f1}"
    return f"{acc} / **{f1}**" if not comparison["within_noise"] else f"{acc} / {f1} (~)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--folds", type=int, default=5, help="a group counts as finished with this many folds")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.results.read_text(encoding="utf-8"))
        groups = {(g["model"], g["balancer"]): g for g in data["summary"]}
        comparisons = {(c["model"], c["balancer"]): c for c in data["comparisons"] if c["metric"] == "test_macro_f1"}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.results}: not a fer bench results.json ({exc})", file=sys.stderr)
        return 1
    models = list(dict.fromkeys(model for model, _ in groups))
    done = [m for m in models if all(groups.get((m, b), {}).get("n", 0) >= args.folds for b in BALANCERS)]
    print("| model | none acc / macro-F1 | weighted acc / macro-F1 | smote acc / macro-F1 |")
    print("|---|---|---|---|")
    for model in done:
        cells = [cell(groups[(model, "none")], None)] + [cell(groups[(model, b)], comparisons.get((model, b))) for b in BALANCERS[1:]]
        print(f"| {model} | " + " | ".join(cells) + " |")

    def progress(model: str) -> str:
        counts = ", ".join(f"{b} {groups.get((model, b), {}).get('n', 0)}/{args.folds}" for b in BALANCERS)
        return f"{model} ({counts})"

    partial = [progress(m) for m in models if m not in done]
    if partial:
        print("\nNot finished: " + "; ".join(partial) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
