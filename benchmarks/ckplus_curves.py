"""Training curves of the CK+ grid: do 40 epochs let the curves flatten?

Reads each finished cell's history.json in a run folder (or the archive benchmarks/ckplus_grid/) and draws, per
model, the mean over folds of the training loss and the validation macro-F1 by epoch, with the range over folds:

    .venv/bin/python benchmarks/ckplus_curves.py benchmarks/ckplus_grid --balancer none

It writes PLOTS/curves_<balancer>.png and prints, per model, the mean validation macro-F1 over the first and the
last five epochs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fer_core.bench.store import read_run, run_jobs


def histories(run_dir: Path, balancer: str) -> dict[str, list[list[dict]]]:
    """model -> one epoch list per finished fold, in the run's model order."""
    found: dict[str, list[list[dict]]] = defaultdict(list)
    for job in run_jobs(read_run(run_dir)):
        path = run_dir / job.cell_dir / "history.json"
        if job.balancer != balancer or not (run_dir / job.cell_dir / "result.json").is_file() or not path.is_file():
            continue
        epochs = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(epochs, list) and epochs:
            found[job.model].append(epochs)
    return found


def series(folds: list[list[dict]], key: str) -> np.ndarray:
    length = min(len(f) for f in folds)
    return np.array([[float(e[key]) for e in f[:length]] for f in folds])


def draw(found: dict[str, list[list[dict]]], balancer: str, out: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(found), 2)))
    for color, (model, folds) in zip(colors, found.items(), strict=False):
        for ax, key in zip(axes, ("train_loss", "val_macro_f1"), strict=True):
            values = series(folds, key)
            epochs = np.arange(1, values.shape[1] + 1)
            ax.plot(epochs, values.mean(0), color=color, label=f"{model} (n={len(folds)})", lw=1.6)
            ax.fill_between(epochs, values.min(0), values.max(0), color=color, alpha=0.12, lw=0)
    axes[0].set(title="training loss (mean over folds; band: min-max)", xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(title="validation macro-F1 (mean over folds; band: min-max)", xlabel="epoch", ylabel="macro-F1", ylim=(0, 1))
    axes[1].legend(fontsize=8, loc="lower right", ncols=2)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(f"CK+48 grid, balancer '{balancer}': 40 epochs, cosine schedule, lr 3e-3", fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a bench run folder or its archive")
    parser.add_argument("--balancer", default="none")
    parser.add_argument("--plots", type=Path, help="folder for the PNG (default RUN/plots)")
    args = parser.parse_args(argv)
    found = histories(args.run, args.balancer)
    if not found:
        print(f"error: {args.run}: no finished cell with balancer '{args.balancer}' has a history.json", file=sys.stderr)
        return 1
    out = (args.plots or args.run / "plots") / f"curves_{args.balancer}.png"
    draw(found, args.balancer, out)
    print(f"{'model':16s} {'folds':>5s} {'val F1 ep 1-5':>13s} {'val F1 last 5':>13s} {'loss last 5':>11s}")
    for model, folds in found.items():
        f1, loss = series(folds, "val_macro_f1"), series(folds, "train_loss")
        print(f"{model:16s} {len(folds):5d} {f1[:, :5].mean():13.3f} {f1[:, -5:].mean():13.3f} {loss[:, -5:].mean():11.3f}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
