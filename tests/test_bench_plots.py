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
