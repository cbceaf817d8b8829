"""FLOP counting and the zoo table that the READMEs are generated from."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from fer_core.flops import count_flops
from fer_core.registry import get_registry

ROOT = Path(__file__).resolve().parents[1]
ZOO_SCRIPT = ROOT / "benchmarks" / "zoo.py"


def load_zoo_script():
    spec = importlib.util.spec_from_file_location("zoo_benchmark", ZOO_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_count_flops_counts_one_per_multiply_add():
    conv = nn.Conv2d(2, 8, 3, padding=1, bias=False)
    assert count_flops(conv, (1, 2, 10, 10)) == 10 * 10 * 8 * 2 * 9
    assert count_flops(conv, (3, 2, 10, 10)) == 3 * 10 * 10 * 8 * 2 * 9
    assert count_flops(nn.Sequential(nn.Linear(20, 5), nn.ReLU()), (1, 20)) == 100


def test_count_flops_matches_torchvisions_published_resnet18_figure_and_keeps_the_mode():
    with torch.device("meta"):
        model = torchvision.models.resnet18().train()
    assert count_flops(model, (1, 3, 224, 224)) / 1e9 == pytest.approx(1.81, abs=0.01)
    assert model.training


def test_weight_layers_and_measure_give_a_consistent_row():
    zoo = load_zoo_script()
    row = zoo.measure(get_registry(), "mycnn_v1", 48, seconds=0.2, rounds=2)
    model = get_registry().create("models", "mycnn_v1").build(7, 1, 48)
    assert row.depth == 5 and row.params == sum(p.numel() for p in model.parameters())
    assert row.mflops == pytest.approx(count_flops(model, (1, 1, 48, 48)) / 1e6)
    assert row.infer_ips > 0 and row.train_ips > 0 and row.layout in zoo.LAYOUTS
    table = zoo.markdown([row], timed=True, size=48)
    assert table.splitlines()[0].startswith("| model | distribution | depth | params | MFLOPs @48 | infer img/s")
    assert "| mycnn_v1 | fer-mycnn | 5 |" in table


def test_the_mycnn_readme_table_is_what_the_script_prints(capsys):
    assert load_zoo_script().main(["--models", "mycnn_v*", "--no-timing", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    generated = [line for line in printed.splitlines() if line.startswith("|")]
    assert len(generated) == 8
    readme = (ROOT / "plugins" / "fer-mycnn" / "README.md").read_text()
    assert "\n".join(generated) in readme, "regenerate the table in plugins/fer-mycnn/README.md"
    assert re.search(r"\| mycnn_v6 \| fer-mycnn \| 10 \|", printed)
