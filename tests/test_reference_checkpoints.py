"""The shipped reference checkpoints (plugins/fer-weights, installed as named weights): loadable safetensors with
everything predict and retraining need, a model card each, and resolvable by name from any directory.

Their PublicTest numbers are checked against ../shared/data/fer2013 where that folder exists (skipped elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_core.checkpoint import load_checkpoint, read_metadata
from fer_core.predict import Predictor

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = ROOT / "plugins" / "fer-weights" / "fer_weights"
CHECKPOINTS = sorted(WEIGHTS_DIR.glob("*.safetensors"))
DATA = ROOT.parent / "shared" / "data" / "fer2013"
NAMES = [c.name.removesuffix(".safetensors") for c in CHECKPOINTS]


def test_the_reference_checkpoints_are_shipped():
    assert {"fer-fast", "fer-accurate", "fer-ensemble"} <= set(NAMES), NAMES


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=NAMES)
def test_each_checkpoint_has_a_model_card_with_data_use_limits_and_licence(checkpoint):
    card = checkpoint.with_suffix(".md").read_text(encoding="utf-8")
    for heading in ("## Data and protocol", "## Intended use", "## Limits", "## Licence of the weights"):
        assert heading in card
    assert "PublicTest" in card and "PrivateTest" in card and "research" in card.lower()
    accuracy = read_metadata(checkpoint)["val_metrics"]["accuracy"]
    assert f"accuracy {accuracy:.4f}" in card  # the card quotes the metadata's own number


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=NAMES)
def test_installed_names_resolve_to_the_shipped_files(checkpoint):
    from fer_core.predict.weights import installed_weights, resolve_weights

    if checkpoint.stem not in installed_weights():
        pytest.skip("fer-weights is not installed in this environment")
    assert resolve_weights(checkpoint.stem).resolve() == checkpoint.resolve()


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=NAMES)
def test_checkpoint_is_small_and_carries_what_predict_and_retraining_need(checkpoint):
    assert checkpoint.stat().st_size < 8_000_000, "small enough to version in git"
    meta = read_metadata(checkpoint)
    sidecar = json.loads(checkpoint.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["model"] == meta["model"] and sidecar["command"] == meta["command"]
    commands = [m["command"] for m in meta["members"]] if meta["model"] == "ensemble" else [meta["command"]]
    assert all(c.startswith("fer train ") and "--data" in c for c in commands), commands
    assert meta["classes"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert meta["data"]["protocol"] == "fer2013:train->publictest:7cls" and not meta["data"]["synthetic"]
    assert {"mean", "std", "size", "channels"} <= set(meta["preprocessing"])
    assert 0 < meta["val_metrics"]["accuracy"] <= 1


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=NAMES)
def test_checkpoint_loads_and_classifies_a_face_crop(checkpoint):
    model, meta = load_checkpoint(checkpoint)
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.zeros(2, meta["in_channels"], meta["input_size"], meta["input_size"])), 1)
    assert probabilities.shape == (2, 7) and torch.allclose(probabilities.sum(1), torch.ones(2))
    crop = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    [face] = Predictor.from_checkpoint(checkpoint, detector=None).predict(crop)
    assert face.label in meta["classes"]


@pytest.mark.realdata
@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent")
@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=NAMES)
def test_fer_eval_reproduces_the_recorded_publictest_metrics(checkpoint):
    from fer_core.training.evaluate import evaluate_checkpoint

    recorded = read_metadata(checkpoint)["val_metrics"]
    measured = evaluate_checkpoint(checkpoint, str(DATA), split="val")
    assert measured["n"] == recorded["n"] == 3589
    assert measured["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-9)
    assert measured["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=1e-9)
