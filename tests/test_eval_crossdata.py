"""Scoring across datasets: shared-class scoring, `fer eval --split all`, and installed weights names in `fer eval`."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from fer_core.api import Dataset, Split
from fer_core.errors import DataError
from fer_core.preprocess import Preprocessing
from fer_core.training.evaluate import evaluate_model, shared_classes
from tests.cli_support import run_fer
from tests.data_support import CK_FOLDERS, make_ck_folder, small_checkpoint

MODEL_CLASSES = ("angry", "happy", "neutral")
DATA_CLASSES = ("angry", "contempt", "happy")


class _Fixed(nn.Module):
    """Logits that favour the model's third class (neutral) most, then happy when the image is bright, else angry."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = (x.mean(dim=(1, 2, 3)) > 0).float()
        return torch.stack([1 - bright, bright, torch.full_like(bright, 5.0)], dim=1) + self.anchor


def _mismatched() -> Dataset:
    """Six images per data class; in each class half are bright."""
    labels = np.repeat(np.arange(3), 6)
    bright = np.tile([True, True, True, False, False, False], 3)
    images = np.where(bright[:, None, None], 230, 20).astype(np.uint8) * np.ones((1, 8, 8), dtype=np.uint8)
    split = Split(images=images, labels=labels)
    return Dataset(name="toy", classes=DATA_CLASSES, splits={"test": split, "train": split}, protocol="toy:3cls")


def _meta() -> dict:
    return {"model": "fixed", "classes": list(MODEL_CLASSES), "preprocessing": Preprocessing.default(1, 8).to_dict()}


def test_shared_classes_maps_labels_and_logits_and_names_what_is_left_out():
    assert shared_classes(MODEL_CLASSES, MODEL_CLASSES) is None
    shared = shared_classes(MODEL_CLASSES, DATA_CLASSES)
    assert shared.classes == ("angry", "happy")
    assert shared.logits.tolist() == [0, 1] and shared.label_map.tolist() == [0, -1, 1]
    assert shared.dropped == ("contempt",) and shared.unscored == ("neutral",)
    with pytest.raises(DataError, match="share none"):
        shared_classes(("a", "b"), ("c", "d"))


def test_images_of_classes_the_model_lacks_are_dropped_and_predictions_stay_among_shared_classes():
    result = evaluate_model(_Fixed(), _meta(), _mismatched(), split="test")
    assert result["scored_classes"] == ["angry", "happy"]
    assert result["classes_dropped"] == {"contempt": 6} and result["images_dropped"] == 6
    assert result["model_classes_unscored"] == ["neutral"]
    # neutral has the largest logit everywhere; restricted to angry/happy, bright images are happy, dark ones angry
    assert result["n"] == 12 and result["accuracy"] == pytest.approx(0.5)
    assert list(result["per_class"]) == ["angry", "happy"]
    assert np.asarray(result["confusion"]).tolist() == [[3, 3], [3, 3]]


def test_matching_classes_are_scored_as_before():
    data = _mismatched()
    same = Dataset(name="toy", classes=MODEL_CLASSES, splits=data.splits, protocol="toy:3cls")
    result = evaluate_model(_Fixed(), _meta(), same, split="test")
    assert "classes_dropped" not in result and result["n"] == 18
    assert result["accuracy"] == pytest.approx(6 / 18)  # every prediction is neutral, the third class


def test_pooled_all_scores_every_image_once():
    result = evaluate_model(_Fixed(), _meta(), _mismatched(), split="all")
    assert result["split"] == "all" and result["n"] == 24 and result["images_dropped"] == 12


def test_no_shared_class_is_one_error_line(monkeypatch, capsys, tmp_path):
    checkpoint = small_checkpoint(tmp_path, {"classes": ["w", "x", "y", "z", "q", "r", "s"]})
    code, _out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(checkpoint), "--data", "demo", "--split", "test")
    assert code != 0 and err.startswith("error:") and len(err.strip().splitlines()) == 1 and "share none" in err


def test_a_fer2013_checkpoint_on_ck_plus_drops_contempt(monkeypatch, capsys, tmp_path):
    checkpoint = small_checkpoint(tmp_path)
    ck = make_ck_folder(tmp_path / "ck", subjects=8)
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(checkpoint), "--data", str(ck), "--split", "all", "--json")
    assert code == 0, err
    by_split = json.loads(out)
    assert list(by_split) == ["train", "val", "test", "all"]
    contempt = sum(1 for _ in (ck / "contempt").iterdir())
    everything = sum(1 for folder in CK_FOLDERS for _ in (ck / folder).iterdir())
    assert by_split["all"]["classes_dropped"] == {"contempt": contempt} and contempt > 0
    assert by_split["all"]["n"] == everything - contempt
    assert sum(by_split[name]["n"] for name in ("train", "val", "test")) == by_split["all"]["n"]
    assert by_split["all"]["model_classes_unscored"] == ["neutral"]
    assert "contempt" not in by_split["test"]["per_class"]


def test_eval_split_all_prints_one_table_with_a_row_per_split(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    checkpoint = small_checkpoint(tmp_path)
    ck = make_ck_folder(tmp_path / "ck", subjects=8)
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(checkpoint), "--data", str(ck), "--split", "all")
    assert code == 0, err
    rows = [line.split()[1] for line in out.splitlines() if line.split()[1:2] and line.split()[1] in ("train", "val", "test", "all")]
    assert rows == ["train", "val", "test", "all"]
    assert "dropped contempt" in out and max(map(len, out.splitlines())) <= 80


def test_eval_takes_an_installed_weights_name(monkeypatch, capsys, tmp_path):
    from fer_core.predict.weights import installed_weights

    if "fer-fast" not in installed_weights():
        pytest.skip("fer-weights is not installed")
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", "fer-fast", "--data", "demo", "--split", "test", "--json")
    assert code == 0, err
    assert json.loads(out)["checkpoint"].endswith("fer-fast.safetensors")
    code, _out, err = run_fer(monkeypatch, capsys, "eval", "-c", "no-such-weights", "--data", "demo")
    assert code != 0 and err.startswith("error:") and "installed weights name" in err


def test_bench_cells_trained_on_one_dataset_are_tested_on_another(tmp_path):
    import pandas as pd

    from fer_core.bench.executors import LocalExecutor
    from fer_core.bench.jobs import BenchSpec
    from fer_core.bench.runner import run_bench
    from tests.bench_support import FAST, tiny_demo

    ck = make_ck_folder(tmp_path / "ck", subjects=8)
    contempt = sum(1 for _ in (ck / "contempt").iterdir())
    everything = sum(1 for folder in CK_FOLDERS for _ in (ck / folder).iterdir())
    run_dir = tmp_path / "cross"
    spec = BenchSpec(
        models=("mycnn_v1",), balancers=("weighted",), epochs=1, augment="none", overrides=FAST, out=str(run_dir), test_data=str(ck)
    )
    outcome = run_bench(spec, LocalExecutor(datasets={"demo": tiny_demo()}), command="pytest cross", speed=None)
    frame = pd.read_csv(run_dir / "results.csv")
    assert (frame["status"] == "ok").all() and set(frame["test_data"]) == {str(ck)}
    for job in outcome.results.rows:
        test = json.loads((run_dir / "cells" / job["cell_id"] / "result.json").read_text())["metrics"]["test"]
        assert test["classes_dropped"] == {"contempt": contempt} and test["n"] == everything - contempt
        assert test["model_classes_unscored"] == ["neutral"]
    report = (run_dir / "report.md").read_text()
    assert f"- **Test data:** `{ck}`" in report and f"contempt ({contempt:,} images)" in report
    again = run_bench(spec, LocalExecutor(datasets={"demo": tiny_demo()}), command="pytest cross again", speed=None)
    assert again.ran == []  # the same --test-data: every cell is finished


def test_bench_refuses_folds_with_test_data(monkeypatch, capsys, tmp_path):
    args = ["bench", "-m", "mycnn_v1", "--folds", "3", "--test-data", "demo", "--out", str(tmp_path / "r")]
    code, _out, err = run_fer(monkeypatch, capsys, *args)
    assert code == 2 and err.startswith("error:") and "choose one" in err and len(err.strip().splitlines()) == 1
