"""The run's figures, drawn from saved results only (so `fer report` can redraw them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.bench.cell import RESULT_FILE, CellResult
from fer_core.bench.jobs import Job
from fer_core.bench.results import Results
from fer_core.bench.watermark import mark_synthetic

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

PLOTS_DIR = "plots"
CONFUSION_DIR = "confusion"
BAR_LABEL_LIMIT = 16  # value labels on bars only while bars are wide enough to hold them


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path, synthetic: bool | None = False) -> Path:
    plt = _pyplot()
    mark_synthetic(fig, synthetic)
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def _split_label(split: str) -> str:
    return {"val": "validation", "test": "test"}.get(split, split)


def confusion_plot(result: CellResult, split: str, path: Path) -> Path | None:
    metrics = result.metrics.get(split, {})
    counts, classes = metrics.get("confusion"), result.dataset.get("classes", [])
    if not counts or not classes:
        return None
    heading = f"{result.model} + {result.balancer}, seed {result.seed}" + (f", fold {result.fold}" if result.fold is not None else "")
    scores = f"accuracy {metrics.get('accuracy'):.3f}, macro-F1 {metrics.get('macro_f1'):.3f}"
    return _confusion_figure(counts, classes, heading, f"{_split_label(split)} split: {scores}", path, result.dataset.get("synthetic"))


def pooled_confusion_plot(results: Sequence[CellResult], split: str, path: Path) -> Path | None:
    """One matrix for a (model, balancer) group of folds: the cells' counts summed, since each fold tests other images."""
    import numpy as np

    matrices = [r.metrics.get(split, {}).get("confusion") for r in results]
    classes = results[0].dataset.get("classes", []) if results else []
    if not classes or not matrices or any(not m for m in matrices):
        return None
    counts = np.sum([np.asarray(m, dtype=float) for m in matrices], axis=0)
    tp = np.diag(counts)
    f1 = 2 * tp / np.clip(counts.sum(axis=0) + counts.sum(axis=1), 1, None)
    first = results[0]
    heading = f"{first.model} + {first.balancer}, {len(results)} cells (folds x seeds) summed"
    scores = f"pooled accuracy {tp.sum() / max(counts.sum(), 1):.3f}, pooled macro-F1 {f1.mean():.3f}"
    return _confusion_figure(counts, classes, heading, f"{_split_label(split)} splits: {scores}", path, first.dataset.get("synthetic"))


def _confusion_figure(counts: Any, classes: Sequence[str], heading: str, scores: str, path: Path, synthetic: bool | None) -> Path:
    import numpy as np
    import seaborn as sns

    counts = np.asarray(counts, dtype=float)
    rates = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    plt = _pyplot()
    side = max(5.0, 0.75 * len(classes) + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    labels = np.array([[f"{r:.2f}\n({int(c)})" for r, c in zip(rr, cc, strict=True)] for rr, cc in zip(rates, counts, strict=True)])
    sns.heatmap(
        rates,
        annot=labels,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        square=True,
        xticklabels=classes,
        yticklabels=classes,
        cbar_kws={"label": "share of the true class"},
        annot_kws={"fontsize": 8},
        ax=ax,
    )
    _label_heatmap(ax, "predicted class", "true class", x_rotation=45)
    ax.set_title(f"{heading}\n{scores}\n(rows sum to 1; counts in brackets)", fontsize=10)
    return _save(fig, path, synthetic)


def _label_heatmap(ax: Any, xlabel: str, ylabel: str, *, x_rotation: int) -> None:
    """Axis names, slanted column labels anchored at their right end (so each ends under its column), level row labels."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=x_rotation)
    ax.tick_params(axis="y", labelrotation=0)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def _averaged_over(results: Results) -> str:
    return "folds and seeds" if results.folded else "seeds"


def _ok_frame(results: Results) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(results.leaderboard())
    if frame.empty:
        return frame
    frame["model"] = pd.Categorical(frame["model"], categories=list(dict.fromkeys(r["model"] for r in results.rows)))
    frame["balancer"] = pd.Categorical(frame["balancer"], categories=list(dict.fromkeys(r["balancer"] for r in results.rows)))
    return frame.sort_values(["model", "balancer", "seed"])


def balancer_comparison_plot(results: Results, path: Path) -> Path | None:
    import seaborn as sns

    frame = _ok_frame(results)
    if frame.empty:
        return None
    split = results.ranking_split
    models = list(frame["model"].cat.remove_unused_categories().cat.categories)
    balancers = list(frame["balancer"].cat.remove_unused_categories().cat.categories)
    sizes = _group_sizes(frame)
    several_seeds = max(sizes.values()) > 1
    short = _short_groups(sizes)
    plt = _pyplot()
    width = max(7.0, 0.45 * len(models) * len(balancers) + 3)
    fig, axes = plt.subplots(2, 1, figsize=(width, 8.5), sharex=True)
    for ax, metric, label in zip(axes, ("macro_f1", "accuracy"), ("macro-F1", "accuracy"), strict=True):
        sns.barplot(
            data=frame,
            x="model",
            y=f"{split}_{metric}",
            hue="balancer",
            order=models,
            hue_order=balancers,
            errorbar="sd" if several_seeds else None,
            palette="deep",
            ax=ax,
        )
        ax.set_ylabel(f"{_split_label(split)} {label}")
        ax.set_xlabel("")
        ax.set_ylim(0, min(1.0, max(0.05, float(frame[f"{split}_{metric}"].max()) * 1.2)))
        averaged = f" (mean of {_averaged_over(results)}, bars show sd)" if several_seeds else ""
        ax.set_title(f"{label} per model, one bar per balancer{averaged}" + _short_note(sizes, short), fontsize=11)
        ax.grid(axis="y", alpha=0.3)
        if len(models) * len(balancers) <= BAR_LABEL_LIMIT:
            for container in ax.containers:  # inside the bars when error bars would cross the labels
                if several_seeds:
                    ax.bar_label(container, fmt="%.2f", fontsize=8, label_type="center", color="white")
                else:
                    ax.bar_label(container, fmt="%.2f", fontsize=8, padding=2)
        _mark_short_bars(ax, models, balancers, short)
        ax.legend(title="balancer", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1].set_xlabel("model")
    axes[-1].tick_params(axis="x", labelrotation=30 if len(models) > 4 else 0)
    for label in axes[-1].get_xticklabels():
        label.set_horizontalalignment("right" if len(models) > 4 else "center")
    fig.tight_layout()
    return _save(fig, path, results.dataset.get("synthetic"))


def _group_sizes(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    counts = frame.groupby(["model", "balancer"], observed=True).size()
    return {(str(model), str(balancer)): int(n) for (model, balancer), n in counts.items() if n}


def _short_groups(sizes: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Groups with fewer finished cells than the fullest one: a mean over fewer folds must say so on the figure."""
    full = max(sizes.values(), default=0)
    return {group: n for group, n in sizes.items() if n < full}


def _short_note(sizes: dict[tuple[str, str], int], short: dict[tuple[str, str], int], mark: str = "n=k") -> str:
    return f"\n({mark} marks a mean over k of {max(sizes.values())} cells; the others did not finish)" if short else ""


def _mark_short_bars(ax: Any, models: Sequence[str], balancers: Sequence[str], short: dict[tuple[str, str], int]) -> None:
    if not short:
        return
    bottom = ax.get_ylim()[1] * 0.02
    for balancer, container in zip(balancers, ax.containers, strict=False):
        for bar in container:
            if math.isnan(bar.get_height()):  # seaborn may keep a slot for a missing group
                continue
            x = bar.get_x() + bar.get_width() / 2
            n = short.get((models[round(x)], balancer))
            if n is not None:
                ax.text(x, bottom, f"n={n}", rotation=90, ha="center", va="bottom", fontsize=7, color="white")


def _row_label(model: str, balancer: str, short: dict[tuple[str, str], int]) -> str:
    n = short.get((model, balancer))
    return f"{model} + {balancer}" + (f" (n={n})" if n is not None else "")


def per_class_heatmap(results: Results, path: Path) -> Path | None:
    import seaborn as sns

    frame = _ok_frame(results)
    columns = [f"f1_{c}" for c in results.classes]
    if frame.empty or not columns:
        return None
    grouped = frame.groupby(["model", "balancer"], observed=True)[columns].mean()
    sizes = _group_sizes(frame)
    short = _short_groups(sizes)
    grouped.index = [_row_label(model, balancer, short) for model, balancer in grouped.index]
    grouped.columns = results.classes
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.95 * len(columns) + 4), max(3.0, 0.42 * len(grouped) + 1.8)))
    sns.heatmap(grouped.astype(float), annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=1, cbar_kws={"label": "F1"}, ax=ax)
    _label_heatmap(ax, "class", "model + balancer", x_rotation=30)
    averaged = f" (mean of {_averaged_over(results)})" if max(sizes.values()) > 1 else ""
    title = f"per-class F1 on the {_split_label(results.ranking_split)} split{averaged}"
    ax.set_title(title + _short_note(sizes, short, mark="a row's (n=k)"), fontsize=11)
    return _save(fig, path, results.dataset.get("synthetic"))


def accuracy_speed_plot(results: Results, path: Path) -> Path | None:
    import seaborn as sns

    frame = _ok_frame(results)
    column = f"{results.ranking_split}_accuracy"
    if frame.empty or frame["images_per_s"].isna().all():
        return None
    frame = frame.dropna(subset=["images_per_s", column])
    models = list(frame["model"].cat.remove_unused_categories().cat.categories)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    palette = sns.color_palette("tab10" if len(models) <= 10 else "tab20", n_colors=len(models))
    sns.scatterplot(
        data=frame,
        x="images_per_s",
        y=column,
        hue="model",
        hue_order=models,
        style="balancer",
        palette=palette,
        s=90,
        alpha=0.85,
        ax=ax,
    )
    from matplotlib.ticker import FuncFormatter, NullFormatter

    spread = _speed_spread(frame)
    if spread is not None:
        ax.errorbar(
            frame["images_per_s"].astype(float),
            frame[column].astype(float),
            xerr=spread,
            fmt="none",
            ecolor="grey",
            elinewidth=1,
            capsize=3,
            alpha=0.7,
            zorder=0,
        )
    speeds = frame["images_per_s"].astype(float)
    wide = speeds.max() / max(speeds.min(), 1e-9) > 20
    if wide:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("inference speed, images/s at batch 64, median of the speed phase" + (" (log scale)" if wide else ""))
    ax.set_ylabel(f"{_split_label(results.ranking_split)} accuracy")
    note = "; bars: lowest to highest speed over the timing rounds" if spread is not None else ""
    ax.set_title(f"accuracy vs inference speed (up and right is better{note})", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return _save(fig, path, results.dataset.get("synthetic"))


def _speed_spread(frame: pd.DataFrame) -> Any:
    """[below, above] distances from each point's median speed to its spread's ends, or None without spreads."""
    import numpy as np

    if "images_per_s_lo" not in frame or frame["images_per_s_lo"].isna().all():
        return None
    median = frame["images_per_s"].astype(float).to_numpy()
    lo = frame["images_per_s_lo"].astype(float).fillna(frame["images_per_s"]).to_numpy()
    hi = frame["images_per_s_hi"].astype(float).fillna(frame["images_per_s"]).to_numpy()
    return np.vstack([np.clip(median - lo, 0, None), np.clip(hi - median, 0, None)])


def _newer(path: Path, than: Path) -> bool:
    """True when ``path`` was drawn after ``than`` was written (a rerun that skipped the cell need not redraw it)."""
    try:
        return path.stat().st_mtime >= than.stat().st_mtime
    except OSError:
        return False


def draw_plots(results: Results, pairs: Sequence[tuple[Job, CellResult | None]], run_dir: Path) -> dict[str, Any]:
    """Draw every figure; returns {"confusion": {cell_id or model__balancer: path}, "balancer_comparison": path, ...}
    relative to run_dir. With folds, one confusion matrix per (model, balancer) group, summed over its cells."""
    plots = run_dir / PLOTS_DIR
    finished = [(job, result) for job, result in pairs if result is not None and result.ok]
    confusion = _pooled_confusions(results, finished, plots) if results.folded else _cell_confusions(results, finished, run_dir)
    figures: dict[str, Any] = {"confusion": {key: str(path.relative_to(run_dir)) for key, path in confusion.items()}}
    for name, draw in (
        ("balancer_comparison", balancer_comparison_plot),
        ("per_class_f1", per_class_heatmap),
        ("accuracy_vs_speed", accuracy_speed_plot),
    ):
        drawn = draw(results, plots / f"{name}.png")
        if drawn is not None:
            figures[name] = str(drawn.relative_to(run_dir))
    return figures


def _cell_confusions(results: Results, finished: Sequence[tuple[Job, CellResult]], run_dir: Path) -> dict[str, Path]:
    confusion: dict[str, Path] = {}
    for job, result in finished:
        target = run_dir / PLOTS_DIR / CONFUSION_DIR / f"{job.cell_id}.png"
        drawn = target if _newer(target, run_dir / job.cell_dir / RESULT_FILE) else confusion_plot(result, results.ranking_split, target)
        if drawn is not None:
            confusion[job.cell_id] = drawn
    return confusion


def _pooled_confusions(results: Results, finished: Sequence[tuple[Job, CellResult]], plots: Path) -> dict[str, Path]:
    groups: dict[str, list[CellResult]] = {}
    for _, result in finished:
        groups.setdefault(f"{result.model}__{result.balancer}", []).append(result)
    confusion: dict[str, Path] = {}
    for key, members in groups.items():
        drawn = pooled_confusion_plot(members, results.ranking_split, plots / CONFUSION_DIR / f"{key}.png")
        if drawn is not None:
            confusion[key] = drawn
    return confusion
