"""fer-ensemble: one checkpoint that averages its members' probabilities, built from trained checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from fer_core.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from fer_core.errors import CheckpointError, UnknownPluginError, UsageError
from fer_core.registry import get_registry
from tests.predict_support import CLASSES, checkpoint_meta

pytest.importorskip("fer_ensemble")
from fer_ensemble.__main__ import main as ensemble_main
from fer_ensemble.assemble import assemble


def member(tmp_path, name: str, model: str, seed: int, **options):
    torch.manual_seed(seed)
    net = get_registry().create("models", model, **options).build(len(CLASSES)).eval()
    meta = checkpoint_meta(model=model) | {"model_options": options, "command": f"fer train --model {model}", "train_seconds": 10.0}
    return save_checkpoint(tmp_path / name, net, meta), net


def test_ensemble_output_is_the_mean_of_member_probabilities(tmp_path):
    (a, net_a), (b, net_b) = member(tmp_path, "a", "mycnn_v1", 0), member(tmp_path, "b", "mycnn_v2", 1, hidden=32)
    weights = assemble([a, b], tmp_path / "both")
    model, meta = load_checkpoint(weights)
    x = torch.randn(5, 1, 48, 48)
    with torch.no_grad():
        expected = (torch.softmax(net_a(x), 1) + torch.softmax(net_b(x), 1)) / 2
        got = torch.softmax(model(x), 1)
    assert torch.allclose(got, expected, atol=1e-6)
    assert meta["model"] == "ensemble" and [m["model"] for m in meta["members"]] == ["mycnn_v1", "mycnn_v2"]
    assert meta["model_options"]["members"][1] == {"model": "mycnn_v2", "options": {"hidden": 32}}
    assert meta["members"][0]["command"] == "fer train --model mycnn_v1" and meta["train_seconds"] == 20.0


def test_half_storage_halves_the_file_and_loads_back_as_float32(tmp_path):
    a, _ = member(tmp_path, "a", "mycnn_v2", 0)
    b, _ = member(tmp_path, "b", "mycnn_v2", 1)
    full, half = assemble([a, b], tmp_path / "full"), assemble([a, b], tmp_path / "half", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    model, meta = load_checkpoint(half)
    assert meta["stored_dtype"] == "float16" and all(p.dtype == torch.float32 for p in model.parameters())


def test_members_must_agree_on_classes_and_preprocessing(tmp_path):
    a, _ = member(tmp_path, "a", "mycnn_v1", 0)
    net = get_registry().create("models", "mycnn_v1").build(6).eval()
    other = save_checkpoint(tmp_path / "six", net, checkpoint_meta(classes=CLASSES[:6]))
    with pytest.raises(CheckpointError, match=r"classes .* differs"):
        assemble([a, other], tmp_path / "bad")
    with pytest.raises(CheckpointError, match="at least two"):
        assemble([a], tmp_path / "one")


def test_command_line_writes_the_checkpoint_and_records_its_command(tmp_path, capsys):
    a, _ = member(tmp_path, "a", "mycnn_v1", 0)
    b, _ = member(tmp_path, "b", "mycnn_v1", 1)
    assert ensemble_main([str(a), str(b), "--out", str(tmp_path / "ens"), "--no-eval"]) == 0
    meta = json.loads((tmp_path / "ens.json").read_text())
    assert meta["command"].startswith("python -m fer_ensemble ") and read_metadata(tmp_path / "ens")["model"] == "ensemble"
    assert ensemble_main([str(a), str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "x")]) == 1
    assert "checkpoint not found" in capsys.readouterr().err


@pytest.mark.parametrize("members", [[], [{"model": "ensemble"}], [{"options": {}}], [{"model": "mycnn_v1", "options": 3}]])
def test_bad_members_are_one_line_usage_errors(members):
    with pytest.raises((UsageError, UnknownPluginError)) as info:
        get_registry().create("models", "ensemble", members=members)
    assert "\n" not in str(info.value)
