"""Training curves of the CK+ grid: validation macro-F1 by gradient step, one panel per model, one line per balancer.

    .venv/bin/python benchmarks/ckplus_curves.py benchmarks/ckplus_grid \\
        --control benchmarks/ckplus_steps_control --out benchmarks/ckplus_grid/plots/curves.png

Reads each finished cell's history.json and result.json in a run folder (or its archive, benchmarks/grid_archive.py)
and draws the mean over folds, with the range over folds as a band. The x axis counts gradient steps, not epochs: a
SMOTE epoch holds 1.81x the images of a 'none' one, so at 40 epochs it takes 1.81x the steps. ``--control`` adds a
second run (benchmarks/ckplus_steps_control.sh: 'none' for 72 epochs) as a dashed line. Prints, per model and
balancer, the mean validation macro-F1 over the first and the last tenth of the run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fer_core.bench.store import read_run, run_jobs

COLORS = {"none": "tab:gray", "weighted": "tab:blue", "smote": "tab:orange"}
Curves = dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]]  # model -> label -> per fold (steps, val macro-F1)
LearningRates = dict[str, set[float]]  # model -> the learning rates its cells trained at


def curves(run_dir: Path, label: str | None = None) -> tuple[Curves, LearningRates]:
    found: Curves = defaultdict(lambda: defaultdict(list))
    learning_rates: LearningRates = defaultdict(set)
    for job in run_jobs(read_run(run_dir)):
        folder = run_dir / job.cell_dir
        try:
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            epochs = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if result.get("status") != "ok" or not isinstance(epochs, list) or not epochs:
            continue
        images = result.get("balance_report", {}).get("samples_after") or result["dataset"]["splits"]["train"]
        per_epoch = math.ceil(images / int(result["config"].get("batch_size", 32)))
        steps = np.array([float(e["epoch"]) * per_epoch for e in epochs])
        found[job.model][label or job.balancer].append((steps, np.array([float(e["val_macro_f1"]) for e in epochs])))
        learning_rates[job.model].add(float(result["config"]["lr"]))
    return found, learning_rates


def mean_curve(folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Folds differ a little in steps per epoch: average by epoch index and plot at the mean step."""
    length = min(len(s) for s, _ in folds)
    steps = np.mean([s[:length] for s, _ in folds], axis=0)
    values = np.array([v[:length] for _, v in folds])
    return steps, values.mean(0), values.min(0), values.max(0)


def draw(found: Curves, learning_rates: LearningRates, out: Path, columns: int = 4) -> None:
    models = list(found)
    usual = Counter(lr for rates in learning_rates.values() for lr in rates).most_common(1)[0][0]
    rows = math.ceil(len(models) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.6 * rows + 0.6), sharey=True, squeeze=False)
    for ax, model in zip(axes.flat, models, strict=False):
        for label, folds in found[model].items():
            steps, mean, low, high = mean_curve(folds)
            dashed = label not in COLORS
            color = COLORS.get(label, "tab:green")
            ax.plot(steps / 1000, mean, color=color, lw=1.4, ls="--" if dashed else "-", label=f"{label} (n={len(folds)})")
            ax.fill_between(steps / 1000, low, high, color=color, alpha=0.10, lw=0)
        other = sorted(learning_rates[model] - {usual})
        ax.set_title(model + "".join(f" (lr {lr:g})" for lr in other), fontsize=10)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes.flat[len(models) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("gradient steps (thousands)", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("val macro-F1", fontsize=9)
    fig.suptitle(f"CK+48 grid: validation macro-F1 by step, mean over folds (band: min-max); 40 epochs, cosine, lr {usual:g}", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a bench run folder or its archive")
    parser.add_argument("--control", type=Path, help="a second run drawn dashed, e.g. the steps control")
    parser.add_argument("--control-label", default="none, 72 ep")
    parser.add_argument("--out", type=Path, help="the PNG (default RUN/plots/curves.png)")
    args = parser.parse_args(argv)
    found, learning_rates = curves(args.run)
    if not found:
        print(f"error: {args.run}: no finished cell has a history.json", file=sys.stderr)
        return 1
    if args.control:
        for model, labelled in curves(args.control, args.control_label)[0].items():
            if model in found:
                found[model].update(labelled)
    out = args.out or args.run / "plots" / "curves.png"
    draw(found, learning_rates, out)
    print(f"{'model':16s} {'balancer':12s} {'folds':>5s} {'val F1 first 10%':>16s} {'val F1 last 10%':>15s}")
    for model, labelled in found.items():
        for label, folds in labelled.items():
            _, mean, _, _ = mean_curve(folds)
            tenth = max(1, len(mean) // 10)
            print(f"{model:16s} {label:12s} {len(folds):5d} {mean[:tenth].mean():16.3f} {mean[-tenth:].mean():15.3f}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
