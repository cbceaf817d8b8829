"""Terminal tables at 80 columns (CI logs, pipes): every line fits and no model, balancer or cell name is broken."""

import pytest
from rich.console import Console

from fer_core.bench.results import build_results
from fer_core.bench.table import comparison_table, leaderboard_table
from tests.bench_support import hand_made_pair

MODELS = ["timm-efficientnet_b0", "multibranch", "mycnn_v1"]
BALANCERS = ["none", "class_weighted_sampler", "smote"]
TITLE = "leaderboard on SYNTHETIC data (demo:synthetic:7cls): test split, by macro-F1"


def _results():
    combos = [(m, b, s) for m in MODELS for b in BALANCERS for s in (0, 1)]
    pairs = [
        hand_made_pair(m, b, s, {"test": {"accuracy": 0.5 + i / 100, "macro_f1": 0.4 + i / 97, "weighted_f1": 0.45}})
        for i, (m, b, s) in enumerate(combos)
    ]
    return build_results(pairs)


def _lines(table, width):
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_leaderboard_fits_and_keeps_names_whole(width):
    results = _results()
    lines = _lines(leaderboard_table(results, TITLE, width=width), width)
    assert max(len(line) for line in lines) <= width
    body = [line for line in lines if line.strip()[:1].isdigit()]
    assert len(body) == 18
    for line, row in zip(body, results.leaderboard(), strict=True):
        words = line.split()
        assert row["model"] in words and row["balancer"] in words, line
    header = next(line for line in lines if " model " in line)
    assert "macro-F1" in header, "the ranking metric is never dropped"


def test_a_wide_console_shows_every_column():
    header = next(line for line in _lines(leaderboard_table(_results(), TITLE, width=200), 200) if " model " in line)
    for column in ("acc", "macro-F1", "Δ none", "w-F1", "params", "img/s", "epochs", "train s"):
        assert column in header


def test_comparison_fits_80_columns_with_whole_cell_ids():
    cells = [
        {
            "cell_id": f"{m}__{b}__s0",
            "status_a": "ok",
            "status_b": "ok",
            "same_config": True,
            "accuracy_a": 0.5,
            "accuracy_b": 0.52,
            "accuracy_delta": 0.02,
            "macro_f1_a": 0.4,
            "macro_f1_b": 0.43,
            "macro_f1_delta": 0.03,
            "images_per_s_a": 1000.0,
            "images_per_s_b": 1100.0,
            "images_per_s_ratio": 1.1,
            "images_per_s_noise": True,
        }
        for m in MODELS
        for b in BALANCERS
    ]
    comparison = {"run_a": "runs/a-very-long-run-name", "run_b": "runs/another-long-run-name", "split": "test", "cells": cells}
    lines = _lines(comparison_table(comparison, width=80), 80)
    assert max(len(line) for line in lines) <= 80
    for cell in cells:
        assert any(cell["cell_id"] in line.split() for line in lines), cell["cell_id"]
    assert any("Δ F1" in line for line in lines), "the ranking metric's change is never dropped"
    wide = _lines(comparison_table(comparison, width=120), 120)
    assert any("1.10x noise" in line for line in wide), "a wider console shows the speed ratio and its noise mark"
