"""Bench figures for runs with folds: one confusion matrix per (model, balancer) group, summed over its folds."""

import numpy as np
import pytest

from fer_core.bench.plots import draw_plots, pooled_confusion_plot
from fer_core.bench.results import build_results
from tests.bench_support import hand_made_pair


def _split(confusion: list[list[int]]) -> dict:
    counts = np.asarray(confusion)
    accuracy = float(np.trace(counts) / counts.sum())
    per_class = {c: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4} for c in ("angry", "happy", "sad")}
    scores = {"accuracy": accuracy, "macro_f1": 0.5, "weighted_f1": 0.5, "balanced_accuracy": 0.5}
    return {**scores, "per_class": per_class, "confusion": confusion}


FOLD_MATRICES = {1: [[4, 0, 0], [1, 3, 0], [0, 2, 2]], 2: [[2, 2, 0], [0, 4, 0], [0, 0, 4]]}


@pytest.fixture
def folded_pairs():
    pairs = []
    for balancer in ("none", "smote"):
        for fold, matrix in FOLD_MATRICES.items():
            job, result = hand_made_pair("small", balancer, 0, {"test": _split(matrix), "val": _split(matrix)}, fold=fold)
            result.fold = fold
            pairs.append((job, result))
    return pairs


def test_folded_run_draws_one_confusion_per_group(folded_pairs, tmp_path):
    results = build_results(folded_pairs)
    assert results.folded
    figures = draw_plots(results, folded_pairs, tmp_path)
    assert sorted(figures["confusion"]) == ["small__none", "small__smote"]
    assert all((tmp_path / path).stat().st_size > 10_000 for path in figures["confusion"].values())
    assert not list((tmp_path / "plots" / "confusion").glob("*__f*.png")), "no per-fold matrices"


def test_pooled_confusion_sums_the_folds_counts(folded_pairs, tmp_path, monkeypatch):
    import fer_core.bench.plots as plots

    drawn = {}

    def record(counts, classes, heading, scores, path, synthetic):
        drawn.update(counts=counts, heading=heading, scores=scores)
        return path

    monkeypatch.setattr(plots, "_confusion_figure", record)
    members = [result for _, result in folded_pairs if result.balancer == "none"]
    pooled_confusion_plot(members, "test", tmp_path / "x.png")
    assert np.asarray(drawn["counts"]).tolist() == [[6, 2, 0], [1, 7, 0], [0, 2, 6]]
    assert "2 cells" in drawn["heading"] and "pooled accuracy 0.792" in drawn["scores"]


def test_pooled_confusion_needs_every_cells_matrix(folded_pairs, tmp_path):
    members = [result for _, result in folded_pairs if result.balancer == "none"]
    del members[1].metrics["test"]["confusion"]
    assert pooled_confusion_plot(members, "test", tmp_path / "x.png") is None


def _drawn_figures(monkeypatch) -> dict:
    import fer_core.bench.plots as plots

    drawn = {}

    def keep(fig, path, synthetic=False):
        drawn[path.name] = fig
        return path

    monkeypatch.setattr(plots, "_save", keep)
    return drawn


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]


def test_a_group_with_fewer_folds_is_marked_with_its_n(folded_pairs, tmp_path, monkeypatch):
    from fer_core.bench.plots import balancer_comparison_plot, per_class_heatmap

    third = hand_made_pair("small", "none", 0, {"test": _split(FOLD_MATRICES[1]), "val": _split(FOLD_MATRICES[1])}, fold=3)
    third[1].fold = 3
    lone = hand_made_pair("big", "smote", 0, {"test": _split(FOLD_MATRICES[2]), "val": _split(FOLD_MATRICES[2])}, fold=1)
    lone[1].fold = 1
    results = build_results([*folded_pairs, third, lone])  # small: none 3 folds, smote 2; big: smote 1, no none
    drawn = _drawn_figures(monkeypatch)
    balancer_comparison_plot(results, tmp_path / "bars.png")
    per_class_heatmap(results, tmp_path / "heat.png")
    bars = _texts(drawn["bars.png"])
    assert bars.count("n=2") == 2 and bars.count("n=1") == 2, "each short bar, once per metric panel"
    assert "n=3" not in bars and any("n=k marks a mean over k of 3 cells" in t for t in bars)
    rows = [label.get_text() for label in drawn["heat.png"].axes[0].get_yticklabels()]
    assert rows == ["small + none", "small + smote (n=2)", "big + smote (n=1)"]
    marks = {t.get_text(): round(t.get_position()[0]) for t in drawn["bars.png"].axes[0].texts if t.get_text().startswith("n=")}
    assert marks == {"n=2": 0, "n=1": 1}, "each mark sits over its own model's bar"


def test_complete_groups_carry_no_n_marks(folded_pairs, tmp_path, monkeypatch):
    from fer_core.bench.plots import balancer_comparison_plot, per_class_heatmap

    results = build_results(folded_pairs)
    drawn = _drawn_figures(monkeypatch)
    balancer_comparison_plot(results, tmp_path / "bars.png")
    per_class_heatmap(results, tmp_path / "heat.png")
    assert not [t for fig in drawn.values() for t in _texts(fig) if "n=" in t]
