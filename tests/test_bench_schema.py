"""One results schema: a metric added in bench/schema.py alone reaches every table, the report, the terminal and fer compare."""

import csv
import dataclasses

import pytest
from rich.console import Console

from fer_core.bench import schema
from fer_core.bench.compare import compare_runs
from fer_core.bench.report import render_report
from fer_core.bench.results import base_columns, build_results, write_tables
from fer_core.bench.table import comparison_table, leaderboard_table
from tests.bench_support import hand_made_pair, write_run_folder


def _split(accuracy: float, top2: float) -> dict:
    return {"accuracy": accuracy, "macro_f1": accuracy - 0.1, "weighted_f1": accuracy, "top2_accuracy": top2}


def _pairs(shift: float = 0.0):
    return [hand_made_pair("small", "none", seed, {"val": _split(0.5 + seed / 10, 0.81 + seed / 100 + shift)}) for seed in (0, 1)] + [
        hand_made_pair("small", "smote", seed, {"val": _split(0.6 + seed / 10, 0.9 + seed / 100 + shift)}) for seed in (0, 1)
    ]


def _render(table, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_formats_come_from_the_schema():
    assert schema.format_value("test_macro_f1", 0.123456) == "0.1235"
    assert schema.format_value("images_per_s", 12345.6) == "12,346"
    assert schema.format_value("params", 11_200_000) == "11,200,000"
    assert schema.format_value("params", 11_200_000, short=True) == "11.2M"
    assert schema.format_value("val_accuracy", None) == "-" and schema.format_value("val_accuracy", float("nan")) == "-"
    assert schema.metric("images_per_s").speed and not schema.metric("macro_f1").speed
    assert schema.metric("latency_p50_ms").higher_is_better is False and schema.metric("macro_f1").higher_is_better is True
    assert schema.eval_summary({"accuracy": 0.5, "macro_f1": 0.4, "other": 1}) == {
        "accuracy": 0.5,
        "macro_f1": 0.4,
        "weighted_f1": None,
        "balanced_accuracy": None,
    }


def test_a_new_leaderboard_metric_is_one_edit_in_the_schema(tmp_path, monkeypatch):
    top2 = schema.Metric("top2_accuracy", "top-2 acc", "top-2", "fraction", per_split=True, summary=True, compare=True, priority=1)
    monkeypatch.setattr(schema, "METRICS", (*schema.METRICS, top2))  # the one edit

    pairs = _pairs()
    results = build_results(pairs)
    assert "val_top2_accuracy" in base_columns()
    write_tables(results, tmp_path)
    with open(tmp_path / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["val_top2_accuracy"]) for r in rows] == pytest.approx([0.81, 0.82, 0.9, 0.91])
    summary = {(e["model"], e["balancer"]): e for e in results.summary}
    assert summary["small", "smote"]["val_top2_accuracy_mean"] == pytest.approx(0.905)

    report = render_report(results, pairs, {"name": "t"}, {})
    assert "| val top-2 acc |" in report and "| 0.8100 |" in report  # leaderboard column, 4 decimals
    assert "| small | smote | none | val top-2 acc | +0.0900 |" in report  # paired comparison against none
    assert " top-2 " in _render(leaderboard_table(results, "board"))

    write_run_folder(tmp_path / "a", pairs)
    write_run_folder(tmp_path / "b", _pairs(shift=0.05))
    comparison = compare_runs(tmp_path / "a", tmp_path / "b")
    assert all(row["top2_accuracy_delta"] == pytest.approx(0.05) for row in comparison["cells"])
    assert "Δ top-2" in _render(comparison_table(comparison))


def test_turning_a_column_off_the_leaderboard_is_one_flag(monkeypatch):
    chosen = [dataclasses.replace(m, terminal=False) if m.name == "params" else m for m in schema.METRICS]
    monkeypatch.setattr(schema, "METRICS", tuple(chosen))
    text = _render(leaderboard_table(build_results(_pairs()), "board"))
    assert "params" not in text and "macro-F1" in text
