"""Intervals over seeds and folds, and paired comparisons against none, on hand-made results with known answers."""

import numpy as np
import pytest
from scipy import stats as st

from fer_core.bench.report import render_report
from fer_core.bench.results import build_results
from fer_core.bench.stats import mcnemar_p, paired_image_bootstrap, t_interval
from tests.bench_support import hand_made_pair


def _split(f1: float, **extra) -> dict:
    return {"accuracy": f1 + 0.05, "macro_f1": f1, "weighted_f1": f1, **extra}


def _seed_grid(none_f1, smote_f1):
    pairs = [hand_made_pair("m", "none", s, {"test": _split(f)}) for s, f in enumerate(none_f1)]
    return pairs + [hand_made_pair("m", "smote", s, {"test": _split(f)}) for s, f in enumerate(smote_f1)]


def _one(results, column="test_macro_f1"):
    (entry,) = [c for c in results.comparisons if c["metric"] == column]
    return entry


def test_group_interval_is_the_t_interval_of_the_mean():
    values = [0.61, 0.64, 0.58, 0.66]
    lo, hi = t_interval(values)
    expected = st.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=st.sem(values))
    assert (lo, hi) == pytest.approx(expected)
    summary = {e["balancer"]: e for e in build_results(_seed_grid(values, values)).summary}["none"]
    assert summary["n"] == 4 and summary["test_macro_f1_mean"] == pytest.approx(np.mean(values))
    assert summary["test_macro_f1_sd"] == pytest.approx(np.std(values, ddof=1))
    assert (summary["test_macro_f1_ci95_lo"], summary["test_macro_f1_ci95_hi"]) == pytest.approx(expected)
    assert t_interval([0.5]) is None


def test_paired_comparison_over_seeds_matches_scipy():
    none, smote = [0.50, 0.55, 0.52], [0.68, 0.75, 0.74]  # deltas 0.18, 0.20, 0.22: sd 0.02
    entry = _one(build_results(_seed_grid(none, smote)))
    assert (entry["model"], entry["balancer"], entry["baseline"], entry["n"]) == ("m", "smote", "none", 3)
    assert entry["delta"] == pytest.approx(0.2)
    test = st.ttest_rel(smote, none)
    assert entry["p_value"] == pytest.approx(test.pvalue)
    assert entry["ci95"] == pytest.approx(list(test.confidence_interval(0.95)))
    half = st.t.ppf(0.975, 2) * 0.02 / np.sqrt(3)
    assert entry["ci95"] == pytest.approx([0.2 - half, 0.2 + half])
    assert entry["within_noise"] is False and entry["method"] == "paired t over seeds/folds"


def test_a_difference_inside_the_seed_noise_is_marked_in_the_report_and_leaderboard():
    pairs = _seed_grid([0.50, 0.60, 0.55], [0.58, 0.52, 0.57])  # deltas +0.08, -0.08, +0.02
    results = build_results(pairs)
    entry = _one(results)
    assert entry["delta"] == pytest.approx(0.02 / 3) and entry["within_noise"] is True
    report = render_report(results, pairs, {"name": "t"}, {})
    assert "## Balancers against the baseline `none` (paired)" in report
    assert "| m | smote | none | test macro-F1 | +0.0067 |" in report and "| within noise |" in report
    assert "| +0.0067 ~ |" in report  # the leaderboard mark


def test_one_seed_without_predictions_has_no_interval():
    entry = _one(build_results(_seed_grid([0.5], [0.6])))
    assert entry["delta"] == pytest.approx(0.1) and entry["ci95"] is None and entry["p_value"] is None
    assert entry["within_noise"] is None and entry["n"] == 1


def test_pairs_are_matched_by_seed_and_fold():
    pairs = [hand_made_pair("m", b, 0, {"test": _split(f)}, fold=k) for b, f, k in (("none", 0.5, 0), ("none", 0.7, 1))]
    pairs += [hand_made_pair("m", "smote", 0, {"test": _split(f)}, fold=k) for f, k in ((0.6, 0), (0.75, 1))]
    entry = _one(build_results(pairs))
    assert entry["n"] == 2 and entry["delta"] == pytest.approx((0.1 + 0.05) / 2)


def _predictions(y_true, y_pred):
    return {"y_true": list(map(int, y_true)), "y_pred": list(map(int, y_pred))}


def test_mcnemar_on_the_same_test_images():
    base = np.array([True] * 10 + [False] * 8 + [True] * 2 + [False] * 5)
    other = np.array([True] * 10 + [True] * 8 + [False] * 2 + [False] * 5)  # 8 images only the balancer gets, 2 only none
    assert mcnemar_p(base, other) == pytest.approx(st.binomtest(8, 10, 0.5).pvalue)
    assert mcnemar_p(base, base) == 1.0


def test_per_image_predictions_give_mcnemar_and_an_image_bootstrap_for_one_seed():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, 300)
    base_pred = np.where(rng.random(300) < 0.55, y_true, (y_true + 1) % 3)
    other_pred = np.where(rng.random(300) < 0.75, y_true, base_pred)
    base_acc, other_acc = float(np.mean(base_pred == y_true)), float(np.mean(other_pred == y_true))
    pairs = [
        hand_made_pair("m", "none", 0, {"test": _split(0.5, accuracy=base_acc, predictions=_predictions(y_true, base_pred))}),
        hand_made_pair("m", "smote", 0, {"test": _split(0.6, accuracy=other_acc, predictions=_predictions(y_true, other_pred))}),
    ]
    results = build_results(pairs)
    accuracy = _one(results, "test_accuracy")
    assert accuracy["delta"] == pytest.approx(other_acc - base_acc) and accuracy["images"] == 300
    only_other = int(((other_pred == y_true) & (base_pred != y_true)).sum())
    only_base = int(((base_pred == y_true) & (other_pred != y_true)).sum())
    assert accuracy["p_value"] == pytest.approx(st.binomtest(only_other, only_other + only_base).pvalue)
    lo, hi = accuracy["ci95"]
    assert lo < accuracy["delta"] < hi and lo > 0 and accuracy["within_noise"] is False
    assert _one(results) == _one(build_results(pairs)), "a fixed bootstrap seed: the same interval every time"


def test_identical_predictions_are_noise():
    y = np.arange(60) % 3
    pred = (y + (np.arange(60) % 4 == 0)) % 3
    same = [((y, pred), (y, pred))]
    delta, (lo, hi), p = paired_image_bootstrap(same, "macro_f1", rounds=200)
    assert delta == 0 and lo == hi == 0 and p == 1.0


@pytest.mark.parametrize("metric", ["accuracy", "balanced_accuracy", "macro_f1", "weighted_f1"])
def test_vectorised_scores_match_scikit_learn(metric):
    from sklearn import metrics as sk

    from fer_core.bench.stats import confusions, scores

    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 4, (5, 40)), rng.integers(0, 5, (5, 40))
    y_true[0] = 1  # one class only in the truth of row 0
    reference = {
        "accuracy": sk.accuracy_score,
        "balanced_accuracy": lambda t, p: sk.balanced_accuracy_score(t, p),
        "macro_f1": lambda t, p: sk.f1_score(t, p, average="macro", zero_division=0),
        "weighted_f1": lambda t, p: sk.f1_score(t, p, average="weighted", zero_division=0),
    }[metric]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [reference(t, p) for t, p in zip(y_true, y_pred, strict=True)]
    assert scores(confusions(y_true, y_pred, 5), metric) == pytest.approx(expected)
