"""Uncertainty over seeds and folds, and paired comparisons of each balancer against the baseline ``none``.

- ``summarise``: per (model, balancer) group, the mean, sample sd and a 95% t-interval of every summary
  column of ``bench.schema`` over the group's finished cells (seeds x folds).
- ``compare_to_baseline``: for every balancer against ``none`` on the same model, cells paired by
  (seed, fold). When both cells of every pair stored their per-image test predictions
  (``metrics[split]["predictions"] = {"y_true": [...], "y_pred": [...]}``) the pairs share their test images,
  so the interval comes from a paired bootstrap over those images (fixed seed) and accuracy's p-value from
  McNemar's exact test on the discordant images. Otherwise, with two or more pairs, a paired t-test over
  the per-pair differences (a bootstrap over 2-5 seeds cannot reach a 95% interval: it only re-samples the
  few values there are). One pair and no predictions: the difference alone, without an interval.

A difference is ``within_noise`` when its 95% interval contains 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fer_core.bench import schema

if TYPE_CHECKING:
    import numpy as np

    from fer_core.bench.cell import CellResult
    from fer_core.bench.jobs import Job

BASELINE = "none"
CONFIDENCE = 0.95
BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 0


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Two-sided t-interval of the mean of ``values``; None for fewer than two values."""
    from scipy import stats as st

    n = len(values)
    if n < 2:
        return None
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    half = float(st.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (model, balancer): n finished cells, not_ok, and <column>_mean/_sd/_ci95_lo/_ci95_hi."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["balancer"]), []).append(row)
    summary = []
    for (model, balancer), members in groups.items():
        ok = [r for r in members if r["status"] == "ok"]
        entry: dict[str, Any] = {"model": model, "balancer": balancer, "n": len(ok), "seeds": len({r["seed"] for r in ok})}
        entry["folds"] = len({r.get("fold") for r in ok if r.get("fold") is not None})
        entry["not_ok"] = len(members) - len(ok)
        for column in schema.summary_columns():
            values = [float(r[column]) for r in ok if isinstance(r.get(column), int | float)]
            interval = t_interval(values)
            entry[f"{column}_mean"] = statistics.fmean(values) if values else None
            entry[f"{column}_sd"] = statistics.stdev(values) if len(values) > 1 else None
            entry[f"{column}_ci95_lo"], entry[f"{column}_ci95_hi"] = interval if interval else (None, None)
        summary.append(entry)
    return summary


def confusions(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Confusion counts (rows true, columns predicted) of each row of the 2-D label arrays: shape (rows, classes, classes)."""
    import numpy as np

    rows = y_true.shape[0]
    codes = y_true * classes + y_pred + (np.arange(rows) * classes * classes)[:, None]
    return np.bincount(codes.ravel(), minlength=rows * classes * classes).reshape(rows, classes, classes)


def scores(confusion: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` of each confusion matrix as scikit-learn computes it (zero_division=0; classes in neither true nor
    predicted labels are left out of the average)."""
    import numpy as np

    tp = np.diagonal(confusion, axis1=1, axis2=2).astype(float)
    support, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    if metric == "accuracy":
        return tp.sum(axis=1) / confusion.sum(axis=(1, 2))
    if metric == "balanced_accuracy":
        recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
        return recall.sum(axis=1) / (support > 0).sum(axis=1)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    if metric == "macro_f1":
        return f1.sum(axis=1) / np.maximum((denominator > 0).sum(axis=1), 1)
    if metric == "weighted_f1":
        return (f1 * support).sum(axis=1) / support.sum(axis=1)
    raise KeyError(metric)


SCORED = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1")


def _predictions(result: CellResult | None, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    import numpy as np

    if result is None:
        return None
    stored = (result.metrics.get(split) or {}).get("predictions")
    if not isinstance(stored, dict):
        return None
    try:
        y_true, y_pred = np.asarray(stored["y_true"], dtype=int), np.asarray(stored["y_pred"], dtype=int)
    except (KeyError, TypeError, ValueError):
        return None
    return (y_true, y_pred) if y_true.shape == y_pred.shape and y_true.ndim == 1 and y_true.size else None


def mcnemar_p(baseline_correct: np.ndarray, other_correct: np.ndarray) -> float:
    """Exact two-sided McNemar test: a binomial test on the images exactly one of the two got right."""
    from scipy.stats import binomtest

    only_other = int((other_correct & ~baseline_correct).sum())
    only_base = int((baseline_correct & ~other_correct).sum())
    if only_other + only_base == 0:
        return 1.0
    return float(binomtest(only_other, only_other + only_base, 0.5).pvalue)


def paired_image_bootstrap(
    pairs: Sequence[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
    metric: str,
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, tuple[float, float], float]:
    """(delta, 95% percentile interval, two-sided bootstrap p) of mean(metric(other) - metric(baseline)) over pairs,
    re-sampling the shared test images with one fixed-seed index set per round for every pair."""
    import numpy as np

    y_true = pairs[0][0][0]
    classes = int(max(max(b[0].max(), b[1].max(), o[1].max()) for b, o in pairs)) + 1
    idx = np.random.default_rng(seed).integers(0, y_true.size, (rounds, y_true.size))
    observed, samples = [], np.zeros(rounds)
    for (truth, base), (_, other) in pairs:
        whole = scores(confusions(np.stack([truth, truth]), np.stack([other, base]), classes), metric)
        observed.append(float(whole[0] - whole[1]))
        samples += scores(confusions(truth[idx], other[idx], classes), metric) - scores(confusions(truth[idx], base[idx], classes), metric)
    samples /= len(pairs)
    lo, hi = np.quantile(samples, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    p = min(1.0, 2 * min(float(np.mean(samples <= 0)), float(np.mean(samples >= 0))))
    return statistics.fmean(observed), (float(lo), float(hi)), p


def paired_t(deltas: Sequence[float]) -> tuple[tuple[float, float] | None, float | None]:
    """95% interval and two-sided p-value of a paired t-test on per-pair differences (None when undefined)."""
    from scipy import stats as st

    n = len(deltas)
    if n < 2:
        return None, None
    sd = statistics.stdev(deltas)
    mean = statistics.fmean(deltas)
    if sd == 0:
        return (mean, mean), None
    t = mean / (sd / math.sqrt(n))
    return t_interval(deltas), float(2 * st.t.sf(abs(t), n - 1))


def _comparison(model: str, balancer: str, metric: str, column: str, matched: list[tuple[Any, Any]], split: str) -> dict[str, Any]:
    """One comparison entry from the matched (baseline, other) (row, result) pairs."""
    deltas = [float(o[0][column]) - float(b[0][column]) for b, o in matched]
    entry: dict[str, Any] = {"model": model, "balancer": balancer, "baseline": BASELINE, "metric": column, "n": len(matched)}
    entry["delta"] = statistics.fmean(deltas)
    predictions = [(_predictions(b[1], split), _predictions(o[1], split)) for b, o in matched]
    same_images = all(p and q and p[0].shape == q[0].shape and (p[0] == q[0]).all() for p, q in predictions)
    same_images = same_images and all((p[0] == predictions[0][0][0]).all() for p, _ in predictions) and metric in SCORED
    if same_images:
        delta, ci, p_value = paired_image_bootstrap(predictions, metric)  # type: ignore[arg-type]
        entry["method"] = "paired bootstrap over test images"
        if metric == "accuracy":
            base_ok = [p[1] == p[0] for p, _ in predictions]
            other_ok = [q[1] == q[0] for _, q in predictions]
            import numpy as np

            p_value, entry["method"] = mcnemar_p(np.concatenate(base_ok), np.concatenate(other_ok)), "McNemar (exact), bootstrap interval"
        entry.update(delta=delta, ci95=list(ci), p_value=p_value, images=int(predictions[0][0][0].size))
    else:
        ci, p_value = paired_t(deltas)
        entry["method"] = "paired t over seeds/folds" if len(deltas) > 1 else "one pair: no interval"
        entry.update(ci95=list(ci) if ci else None, p_value=p_value)
    ci = entry["ci95"]
    entry["within_noise"] = None if ci is None else bool(ci[0] <= 0 <= ci[1])
    return entry


def compare_to_baseline(rows: Sequence[dict[str, Any]], pairs: Sequence[tuple[Job, CellResult | None]], split: str) -> list[dict[str, Any]]:
    """Every balancer against ``none`` on the same model, for each compared per-split metric of the schema."""
    results = {job.cell_id: result for job, result in pairs}
    ok = [r for r in rows if r["status"] == "ok"]
    by_key = {(r["model"], r["balancer"], r["seed"], r.get("fold")): r for r in ok}
    comparisons = []
    for model in dict.fromkeys(r["model"] for r in ok):
        for balancer in dict.fromkeys(r["balancer"] for r in ok if r["model"] == model and r["balancer"] != BASELINE):
            for m in (m for m in schema.compare_metrics() if m.per_split):
                column = m.column(split)
                matched = []
                for (mod, bal, seed, fold), row in by_key.items():
                    base = by_key.get((mod, BASELINE, seed, fold))
                    if mod == model and bal == balancer and base is not None and None not in (row.get(column), base.get(column)):
                        matched.append(((base, results.get(base["cell_id"])), (row, results.get(row["cell_id"]))))
                if matched:
                    comparisons.append(_comparison(model, balancer, m.name, column, matched, split))
    return comparisons


def comparison_for(comparisons: Sequence[dict[str, Any]], model: str, balancer: str, column: str) -> dict[str, Any] | None:
    return next((c for c in comparisons if (c["model"], c["balancer"], c["metric"]) == (model, balancer, column)), None)


def noise_mark(comparison: dict[str, Any] | None, *, digits: int = 4) -> str:
    """``+0.0123`` for a difference outside the noise, ``+0.0123 ~`` inside its 95% interval, ``?`` without one, ``-`` none."""
    if comparison is None:
        return "-"
    mark = " ?" if comparison["within_noise"] is None else " ~" if comparison["within_noise"] else ""
    return f"{comparison['delta']:+.{digits}f}{mark}"
