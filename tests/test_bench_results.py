"""Result tables, seed summaries, report and plots from hand-made cell results (no training)."""

import statistics

import numpy as np
import pytest

from fer_core.bench.plots import draw_plots
from fer_core.bench.report import SYNTHETIC_WARNING, render_report
from fer_core.bench.results import build_results, write_tables
from tests.bench_support import hand_made_pair

CLASSES = ["angry", "happy", "sad"]


def _metrics(accuracy: float, f1s: list[float]) -> dict:
    confusion = np.diag([8, 9, 7]) + 1
    return {
        "accuracy": accuracy,
        "macro_f1": sum(f1s) / len(f1s),
        "weighted_f1": accuracy - 0.01,
        "balanced_accuracy": accuracy,
        "per_class": {c: {"precision": f, "recall": f, "f1": f, "support": 10} for c, f in zip(CLASSES, f1s, strict=True)},
        "confusion": confusion.tolist(),
    }


def _pair(model: str, balancer: str, seed: int, accuracy: float, f1s: list[float] | None, *, real: bool = True):
    job, result = hand_made_pair(
        model,
        balancer,
        seed,
        {"val": _metrics(accuracy, f1s or [0.0] * len(CLASSES))},
        speed={"images_per_s": 100.0 * (seed + 1), "latency_p50_ms": 2.0, "threads": 1},
        classes=tuple(CLASSES),
        synthetic=not real,
        protocol="toy:train->val:3cls",
    )
    return job, (result if f1s is not None else None)


@pytest.fixture
def pairs():
    return [
        _pair("small", "none", 0, 0.50, [0.4, 0.6, 0.5]),
        _pair("small", "none", 1, 0.60, [0.5, 0.7, 0.6]),
        _pair("small", "smote", 0, 0.70, [0.7, 0.7, 0.7]),
        _pair("small", "smote", 1, 0.64, [0.6, 0.7, 0.65]),
        _pair("big", "none", 0, 0.80, [0.8, 0.9, 0.85]),
        _pair("big", "none", 1, 0.0, None),
    ]


def test_rows_rank_on_validation_without_a_test_split(pairs):
    results = build_results(pairs)
    assert results.ranking_split == "val" and results.classes == CLASSES
    ranked = [r["cell_id"] for r in results.leaderboard()]
    assert ranked == ["big__none__s0", "small__smote__s0", "small__smote__s1", "small__none__s1", "small__none__s0"]
    row = results.rows[0]
    assert (row["f1_angry"], row["f1_happy"], row["f1_sad"]) == (0.4, 0.6, 0.5)
    assert row["test_accuracy"] is None and list(row)[-1] == "config_hash"
    assert results.rows[-1]["status"] == "unfinished"


def test_seed_summary_is_mean_and_sample_sd(pairs):
    summary = {(e["model"], e["balancer"]): e for e in build_results(pairs).summary}
    smote = summary["small", "smote"]
    assert smote["seeds"] == 2 and smote["not_ok"] == 0
    assert smote["val_accuracy_mean"] == pytest.approx(0.67)
    assert smote["val_accuracy_sd"] == pytest.approx(statistics.stdev([0.70, 0.64]))
    big = summary["big", "none"]
    assert big["seeds"] == 1 and big["not_ok"] == 1 and big["val_accuracy_sd"] is None


def test_report_tables_and_files(pairs, tmp_path):
    results = build_results(pairs)
    written = write_tables(results, tmp_path)
    assert [p.name for p in written] == ["results.csv", "results.json", "summary.csv"]
    figures = draw_plots(results, pairs, tmp_path)
    assert sorted(figures) == ["accuracy_vs_speed", "balancer_comparison", "confusion", "per_class_f1"]
    assert len(figures["confusion"]) == 5 and all((tmp_path / p).is_file() for p in figures["confusion"].values())
    run = {"name": "toy-run", "spec": {"data": "data", "seeds": [0, 1]}, "invocations": [{"command": "fer bench --seeds 0,1"}]}
    report = render_report(results, pairs, run, figures)
    assert SYNTHETIC_WARNING not in report, "real data gets no synthetic warning"
    assert "## Mean ± sd [95% interval] over seeds and folds" in report
    assert "| small | smote | 2 | 0.6700 ± 0.0424 [0.2888, 1.0512] |" in report  # t(0.975, 1) = 12.706
    assert "ranked by** macro-F1 on the validation split".lower() in report.lower()
    assert "| big__none__s1 | unfinished |" in report
    assert "`fer bench --seeds 0,1`" in report


def test_synthetic_data_is_flagged_at_the_top(tmp_path):
    pairs = [_pair("small", "none", 0, 0.5, [0.5, 0.5, 0.5], real=False)]
    results = build_results(pairs)
    report = render_report(results, pairs, {"spec": {"data": "demo"}}, {})
    assert report.splitlines()[2] == SYNTHETIC_WARNING
