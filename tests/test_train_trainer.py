"""The trainer: run folder, reproducibility, interrupt-and-resume, divergence, stopping rules, balancer wiring."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fer_core.api import Split
from fer_core.checkpoint import load_checkpoint
from fer_core.errors import DataError, TrainingDivergedError, UsageError
from fer_core.training.trainer import train
from tests.train_support import (
    SpyAugmenter,
    SpyBalancer,
    image_hashes,
    tiny_config,
    tiny_dataset,
    training_test_plugins,
    whole_and_resumed,
)


@pytest.fixture(autouse=True, scope="module")
def _test_plugins():
    """The test plugins live in a registry of this module's own, so a reset of the shared one elsewhere cannot drop them."""
    with training_test_plugins():
        yield


def _comparable(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("seconds", "cpu_seconds", "train_images_per_s")} for row in history]


def test_run_folder_holds_checkpoint_state_history_and_plots(tmp_path):
    result = train(tiny_config(epochs=2), tiny_dataset(), tmp_path / "run", quiet=True, command="fer train --test")
    run = tmp_path / "run"
    for name in ("best.safetensors", "best.json", "state.safetensors", "state.json", "history.json"):
        assert (run / name).is_file(), name
    for plot in ("curves.png", "confusion.png", "per_class_f1.png"):
        assert (run / "plots" / plot).stat().st_size > 10_000, plot
    meta = json.loads((run / "best.json").read_text())
    assert meta["model"] == "mycnn_v1" and meta["plugin"]["distribution"] == "fer-mycnn"
    assert meta["classes"] == ["angry", "happy", "sad"] and meta["input_size"] == 24 and meta["in_channels"] == 1
    assert meta["command"] == "fer train --test" and meta["seed"] == 0 and meta["augment"] == "standard"
    assert meta["balancer"] == "none" and meta["balancer_report"]["method"] == "none"
    assert meta["data"]["synthetic"] is True and meta["data"]["protocol"] == "tiny:synthetic:3cls"
    assert meta["config"]["epochs"] == 2 and meta["config_hash"] == tiny_config(epochs=2).config_hash()
    assert meta["epochs"] == result.epochs_run == len(result.history) == 2
    assert meta["best_epoch"] == result.best_epoch
    best_row = result.history[result.best_epoch - 1]
    assert meta["val_metrics"]["macro_f1"] == best_row["val_macro_f1"] == max(r["val_macro_f1"] for r in result.history)
    assert json.loads((run / "history.json").read_text()) == result.history
    model, loaded_meta = load_checkpoint(result.checkpoint)
    assert loaded_meta["val_metrics"] == result.val_metrics
    assert sum(p.numel() for p in model.parameters()) > 0


def test_same_seed_same_run_and_another_seed_differs(tmp_path):
    first = train(tiny_config(), tiny_dataset(), tmp_path / "a", quiet=True)
    second = train(tiny_config(), tiny_dataset(), tmp_path / "b", quiet=True)
    other = train(tiny_config(seed=1), tiny_dataset(), tmp_path / "c", quiet=True)
    assert _comparable(first.history) == _comparable(second.history)
    assert _comparable(first.history) != _comparable(other.history)


def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    whole, resumed, saved_epoch = whole_and_resumed(tiny_config(epochs=3), tmp_path)
    assert saved_epoch == 1, "the state of the last complete epoch survives the interruption"
    assert _comparable(resumed.history) == _comparable(whole.history)
    assert resumed.val_metrics == whole.val_metrics
    a, b = load_file(str(whole.checkpoint)), load_file(str(resumed.checkpoint))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_epoch(tmp_path):
    batches_per_epoch = 90 // 16 + 1
    config = tiny_config(model="train_nan_model", model_options={"healthy_batches": batches_per_epoch}, epochs=3)
    with pytest.raises(TrainingDivergedError, match=r"diverged: loss became nan at epoch 2, batch 1 .*state after epoch 1 is kept"):
        train(config, tiny_dataset(), tmp_path / "run", quiet=True)
    saved = json.loads((tmp_path / "run" / "state.json").read_text())
    assert saved["progress"]["epoch"] == 1
    _, meta = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert meta["best_epoch"] == 1


def test_a_second_run_into_the_same_folder_needs_resume_and_the_same_recipe(tmp_path):
    train(tiny_config(epochs=1), tiny_dataset(), tmp_path / "run", quiet=True)
    with pytest.raises(UsageError, match="already holds a training run"):
        train(tiny_config(epochs=1), tiny_dataset(), tmp_path / "run", quiet=True)
    with pytest.raises(UsageError, match="another recipe"):
        train(tiny_config(epochs=1, lr=0.01), tiny_dataset(), tmp_path / "run", resume=True, quiet=True)
    finished = train(tiny_config(epochs=1, threads=2), tiny_dataset(), tmp_path / "run", resume=True, quiet=True)
    assert finished.epochs_run == 1 and finished.stopped_reason == "max_epochs"


def test_early_stopping_and_time_budget(tmp_path):
    frozen = tiny_config(model="train_linear_probe", lr=1e-12, patience=1, epochs=5, augment="none")
    result = train(frozen, tiny_dataset(), tmp_path / "frozen", quiet=True)
    assert result.stopped_reason == "early_stopping" and result.epochs_run == 2 and result.best_epoch == 1
    budget = train(tiny_config(epochs=5, time_budget_s=1e-3), tiny_dataset(), tmp_path / "budget", quiet=True)
    assert budget.stopped_reason == "time_budget" and budget.epochs_run == 1


def test_sgd_plateau_and_label_smoothing_train(tmp_path):
    config = tiny_config(optimizer="sgd", schedule="plateau", label_smoothing=0.1, lr=0.05, epochs=2)
    result = train(config, tiny_dataset(), tmp_path / "run", quiet=True)
    assert result.epochs_run == 2 and all(np.isfinite(row["train_loss"]) for row in result.history)


def test_bf16_autocast_trains_and_evaluates_in_fp32(tmp_path):
    result = train(tiny_config(precision="bf16", epochs=1), tiny_dataset(), tmp_path / "run", quiet=True)
    assert np.isfinite(result.history[0]["train_loss"]) and result.meta["config"]["precision"] == "bf16"
    _, meta = load_checkpoint(result.checkpoint)
    assert meta["val_metrics"]["n"] == 45


def test_balancer_sees_the_training_split_only(tmp_path):
    SpyBalancer.received.clear()
    dataset = tiny_dataset(test=30)
    train(tiny_config(balancer="train_spy", epochs=1), dataset, tmp_path / "run", quiet=True)
    assert len(SpyBalancer.received) == 1
    got = SpyBalancer.received[0]
    assert np.array_equal(got.images, dataset.splits["train"].images) and np.array_equal(got.labels, dataset.splits["train"].labels)
    held_out = image_hashes(dataset.splits["val"].images) | image_hashes(dataset.splits["test"].images)
    assert held_out and not held_out & image_hashes(got.images), "a validation or test image reached the balancer"


def test_sample_weights_decide_what_the_model_trains_on(tmp_path):
    SpyAugmenter.seen.clear()
    dataset = tiny_dataset()
    train(tiny_config(balancer="train_first_only", augment="train_spy_aug", epochs=1), dataset, tmp_path / "run", quiet=True)
    drawn = np.concatenate(SpyAugmenter.seen)
    assert len(drawn) >= len(dataset.splits["train"]) - 1
    first_class = image_hashes(dataset.splits["train"].images[dataset.splits["train"].labels == 0])
    assert image_hashes(drawn) <= first_class, "an image of weight zero was drawn"


def test_weighted_loss_mode_sets_class_weights(tmp_path):
    from fer_core.training.progress import EpochProgress
    from fer_core.training.setup import build_setup

    full = tiny_dataset()
    keep = np.flatnonzero((full.splits["train"].labels != 2) | (np.arange(90) < 20))
    imbalanced = Split(full.splits["train"].images[keep], full.splits["train"].labels[keep])
    dataset = replace(full, splits={**full.splits, "train": imbalanced})
    run = build_setup(
        tiny_config(balancer="weighted", balancer_options={"mode": "loss"}), dataset, torch.device("cpu"), EpochProgress(True)
    )
    counts = np.bincount(dataset.splits["train"].labels)
    assert counts.min() < counts.max()
    expected = counts.sum() / (len(counts) * counts)
    assert np.allclose(run.criterion.weight.numpy(), expected, rtol=1e-4)
    assert run.balanced.sample_weights is None


def test_dataset_without_validation_split_is_refused(tmp_path):
    dataset = tiny_dataset()
    no_val = type(dataset)(name="x", classes=dataset.classes, splits={"train": dataset.splits["train"]}, protocol="x")
    with pytest.raises(DataError, match="needs a non-empty 'val' split"):
        train(tiny_config(), no_val, tmp_path / "run", quiet=True)
