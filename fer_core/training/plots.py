"""PNG plots of a run: training curves, confusion matrices, per-class F1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fer_core import atomic


def _figure_saver(fig: Any, target: Path, synthetic: bool = False) -> None:
    import matplotlib.pyplot as plt

    from fer_core.bench.watermark import mark_synthetic

    mark_synthetic(fig, synthetic)
    atomic.write_with(target, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)


def plot_curves(history: list[dict[str, Any]], target: Path, title: str, synthetic: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, label) in zip(axes, (("loss", "loss"), ("acc", "accuracy"), ("macro_f1", "macro-F1")), strict=True):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], marker="o", label="train (augmented)")
        ax.plot(epochs, [row[f"val_{key}"] for row in history], marker="o", label="validation")
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    _figure_saver(fig, target, synthetic)


def plot_confusion(
    confusion: Sequence[Sequence[float]],
    normalized: Sequence[Sequence[float]],
    classes: Sequence[str],
    target: Path,
    title: str,
    synthetic: bool = False,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    size = max(5.0, 0.75 * len(classes) + 2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    sns.heatmap(np.asarray(confusion), annot=True, fmt="d", cmap="Blues", xticklabels=classes, yticklabels=classes, ax=axes[0], cbar=False)
    sns.heatmap(
        np.asarray(normalized), annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, xticklabels=classes, yticklabels=classes, ax=axes[1]
    )
    for ax, name in zip(axes, ("counts", "row-normalised (recall)"), strict=True):
        ax.set_title(name)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.tick_params(axis="x", rotation=45)
        ax.tick_params(axis="y", rotation=0)
    fig.suptitle(title)
    _figure_saver(fig, target, synthetic)


def plot_per_class_f1(per_class: dict[str, dict[str, float]], target: Path, title: str, synthetic: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    names = list(per_class)
    scores = [per_class[name]["f1"] for name in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.2))
    sns.barplot(x=names, y=scores, hue=names, palette="viridis", legend=False, ax=ax)
    for i, (name, score) in enumerate(zip(names, scores, strict=True)):
        ax.text(i, score + 0.01, f"{score:.2f}\n(n={per_class[name]['support']})", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("class")
    ax.set_ylabel("F1")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    _figure_saver(fig, target, synthetic)


def write_run_plots(
    plot_dir: Path,
    history: list[dict[str, Any]],
    val_metrics: dict[str, Any],
    classes: Sequence[str],
    label: str,
    synthetic: bool = False,
) -> list[Path]:
    """All plots of a run into ``plot_dir``; returns their paths. ``synthetic`` stamps each with a SYNTHETIC mark."""
    paths = [plot_dir / "curves.png", plot_dir / "confusion.png", plot_dir / "per_class_f1.png"]
    plot_curves(history, paths[0], f"{label}: training curves", synthetic)
    plot_confusion(
        val_metrics["confusion"],
        val_metrics["confusion_normalized"],
        classes,
        paths[1],
        f"{label}: validation confusion matrix (best epoch)",
        synthetic,
    )
    plot_per_class_f1(val_metrics["per_class"], paths[2], f"{label}: validation F1 per class (best epoch)", synthetic)
    return paths
