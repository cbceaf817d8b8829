"""The trainer: run folder, reproducibility, interrupt-and-resume, divergence, stopping rules, balancer wiring."""

from __future__ import annotations

import json
import math
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


# --- the run's parts: one setup, the best model in memory, the time budget as a cap ----------------------------------
def test_train_returns_the_best_model_in_memory_scored_as_the_checkpoint_is(tmp_path):
    from fer_core.training.evaluate import evaluate_model

    dataset = tiny_dataset(test=30)
    result = train(tiny_config(epochs=2), dataset, tmp_path / "run", quiet=True)
    stored = load_file(str(result.checkpoint))
    in_memory = result.model.state_dict()
    assert stored.keys() == in_memory.keys() and all(torch.equal(stored[k], in_memory[k]) for k in stored)
    assert not result.model.training
    assert evaluate_model(result.model, result.meta, dataset, split="val")["macro_f1"] == result.val_metrics["macro_f1"]
    loaded, meta = load_checkpoint(result.checkpoint)
    assert evaluate_model(loaded, meta, dataset, split="test") == evaluate_model(result.model, result.meta, dataset, split="test")
    text = repr(result)
    assert len(text) < 300 and "mycnn_v1" in text and "history" not in text and "val_macro_f1=" in text


def test_the_recipe_and_the_splits_are_prepared_once_per_run(tmp_path, monkeypatch):
    import fer_core.training.evaluate as evaluate_module
    import fer_core.training.setup as setup_module
    from fer_core.training.config import TrainConfig

    calls = {"to_dict": 0, "conform": 0}
    to_dict, conform = TrainConfig.to_dict, setup_module.conform_images

    def counting_to_dict(self):
        calls["to_dict"] += 1
        return to_dict(self)

    def counting_conform(*args, **kwargs):
        calls["conform"] += 1
        return conform(*args, **kwargs)

    monkeypatch.setattr(TrainConfig, "to_dict", counting_to_dict)
    monkeypatch.setattr(setup_module, "conform_images", counting_conform)
    monkeypatch.setattr(evaluate_module, "conform_images", counting_conform)
    train(tiny_config(epochs=3), tiny_dataset(), tmp_path / "run", quiet=True)
    assert calls["conform"] == 2, "train and val are conformed once; validation reuses them"
    assert calls["to_dict"] <= 2, f"TrainConfig.to_dict ran {calls['to_dict']} times for one run"


def test_a_time_budget_shorter_than_one_epoch_stops_inside_the_first_epoch(tmp_path, monkeypatch):
    import fer_core.training.loop as loop

    now = [0.0]
    ran: list[int] = []
    monkeypatch.setattr(loop, "clock", lambda: now[0])

    def ten_seconds_a_batch(epoch: int, batch: int) -> None:
        ran.append(batch)
        now[0] = 10.0 * batch

    config = tiny_config(epochs=5, time_budget_s=25)  # 6 batches of 16 per epoch; the budget is spent after the 4th
    result = train(config, tiny_dataset(), tmp_path / "run", quiet=True, on_batch=ten_seconds_a_batch)
    assert ran == [0, 1, 2, 3]
    assert result.stopped_reason == "time_budget" and result.epochs_run == 1 and result.best_epoch == 1
    assert result.history[0]["epoch_fraction"] == pytest.approx(4 / 6, abs=1e-4)
    assert result.history[0]["lr"] == config.lr and result.history[0]["lr_last"] < config.lr, "cosine moved the lr per batch"
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["stopped_reason"] == "time_budget" and meta["val_metrics"]["n"] == 45
    again = train(config, tiny_dataset(), tmp_path / "run", resume=True, quiet=True)
    assert again.epochs_run == 1 and again.stopped_reason == "time_budget", "a budget-stopped run is finished"


# --- resume: what must match, what is finished, what is damaged ----------------------------------------------------
def _interrupted(tmp_path, config, command: str = "fer train --first", dataset=None):
    def stop(epoch: int, batch: int) -> None:
        if (epoch, batch) == (2, 0):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, dataset or tiny_dataset(), tmp_path / "run", quiet=True, on_batch=stop, command=command, data_spec="demo")
    return tmp_path / "run"


def test_resume_names_the_field_of_the_recipe_or_the_data_that_differs(tmp_path):
    config = tiny_config(epochs=3)
    run = _interrupted(tmp_path, config)
    with pytest.raises(UsageError, match=r"another recipe: lr is 0.001 there, 0.01 here") as clash:
        train(replace(config, lr=0.01), tiny_dataset(), run, resume=True, quiet=True, data_spec="demo")
    assert "\n" not in str(clash.value) and "config_hash" not in str(clash.value)
    with pytest.raises(UsageError, match=r"data is 'demo' there, 'fer2013:x.csv' here"):
        train(config, tiny_dataset(), run, resume=True, quiet=True, data_spec="fer2013:x.csv")
    with pytest.raises(UsageError, match=r"data options are \{\} there, \{\"train\": 60\} here"):
        train(config, tiny_dataset(), run, resume=True, quiet=True, data_spec="demo", data_options={"train": 60})
    with pytest.raises(UsageError, match=r"the data's images or labels differ"):
        train(config, tiny_dataset(train=60), run, resume=True, quiet=True, data_spec="demo")
    resumed = train(replace(config, threads=2), tiny_dataset(), run, resume=True, quiet=True, data_spec="demo")
    assert resumed.epochs_run == 3, "threads are not part of the recipe"


def test_resume_keeps_the_original_command_and_appends_each_resume(tmp_path):
    run = _interrupted(tmp_path, tiny_config(epochs=2), command="fer train --model mycnn_v1 --data demo")
    train(tiny_config(epochs=2), tiny_dataset(), run, resume=True, quiet=True, data_spec="demo", command="fer train --resume --out run")
    meta = json.loads((run / "best.json").read_text())
    assert meta["command"] == "fer train --model mycnn_v1 --data demo"
    assert meta["commands"] == ["fer train --model mycnn_v1 --data demo", "fer train --resume --out run"]


def test_resuming_a_finished_run_says_so_and_rewrites_nothing(tmp_path, capsys):
    config = tiny_config(epochs=1, balancer="train_spy")
    first = train(config, tiny_dataset(), tmp_path / "run", quiet=True)
    best = tmp_path / "run" / "best.safetensors"
    before = (best.read_bytes(), best.stat().st_mtime_ns, (tmp_path / "run" / "best.json").stat().st_mtime_ns)
    SpyBalancer.received.clear()
    again = train(config, tiny_dataset(), tmp_path / "run", resume=True)
    assert "holds a finished run (stopped: max_epochs after epoch 1); nothing to resume" in capsys.readouterr().err
    assert SpyBalancer.received == [], "the balancer ran again"
    assert (best.read_bytes(), best.stat().st_mtime_ns, (tmp_path / "run" / "best.json").stat().st_mtime_ns) == before
    assert again.val_metrics == first.val_metrics and again.history == first.history and again.model is not None


def test_a_damaged_or_half_missing_resume_state_is_one_clear_line(tmp_path):
    from fer_core.errors import CheckpointError

    config = tiny_config(epochs=3)
    run = _interrupted(tmp_path, config)
    weights, copy = (run / "state.safetensors").read_bytes(), (run / "state.json").read_text()

    def resume():
        return train(config, tiny_dataset(), run, resume=True, quiet=True, data_spec="demo")

    (run / "state.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"state.json is there but state.safetensors is missing") as missing:
        resume()
    (run / "state.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(CheckpointError, match=r"state.safetensors: training state is damaged or unreadable") as truncated:
        resume()
    (run / "state.safetensors").write_bytes(weights)
    (run / "state.json").write_text(copy[:40])
    with pytest.raises(CheckpointError, match=r"state.json is damaged") as damaged:
        resume()
    assert all("\n" not in str(e.value) for e in (missing, truncated, damaged))
    (run / "state.json").write_text(copy)
    assert resume().epochs_run == 3, "the intact state resumes"


def test_a_finished_run_whose_resume_state_is_gone_is_replaced_only_with_overwrite(tmp_path):
    run = tmp_path / "cell"
    train(tiny_config(epochs=1), tiny_dataset(), run, quiet=True, command="fer train --old")
    for name in ("state.safetensors", "state.json"):  # as every finished bench cell
        (run / name).unlink()
    (run / "result.json").write_text("{}")
    for resume in (False, True):
        with pytest.raises(UsageError, match=r"holds a finished run \(best.safetensors, result.json\) and no resume state; pass"):
            train(tiny_config(epochs=1), tiny_dataset(), run, resume=resume, quiet=True)
    assert json.loads((run / "best.json").read_text())["command"] == "fer train --old"
    replaced = train(tiny_config(epochs=1, seed=3), tiny_dataset(), run, overwrite=True, quiet=True, command="fer train --new")
    assert json.loads((run / "best.json").read_text())["command"] == "fer train --new" and replaced.meta["seed"] == 3
    assert not (run / "result.json").exists(), "the old run's record would describe another model"


def test_a_step_budget_stops_mid_epoch_where_the_cosine_schedule_ends(tmp_path):
    config = tiny_config(epochs=5, max_steps=8)  # 6 batches of 16 per epoch: one epoch and 2 of the next 6 batches
    result = train(config, tiny_dataset(), tmp_path / "run", quiet=True)
    assert result.stopped_reason == "max_steps" and result.epochs_run == 2
    assert [row["epoch_fraction"] for row in result.history] == [1.0, pytest.approx(2 / 6, abs=1e-4)]
    last_step_lr = config.lr * (1 + math.cos(math.pi * 7 / 8)) / 2  # the 8th step of a cosine over 8, not over 30
    assert result.history[-1]["lr_last"] == pytest.approx(last_step_lr, rel=1e-6)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["progress"]["steps"] == 8
    again = train(config, tiny_dataset(), tmp_path / "run", resume=True, quiet=True)
    assert again.epochs_run == 2 and again.stopped_reason == "max_steps", "a step-stopped run is finished"


def test_a_step_budget_on_an_epoch_boundary_runs_whole_epochs(tmp_path):
    result = train(tiny_config(epochs=5, max_steps=12), tiny_dataset(), tmp_path / "run", quiet=True)
    assert result.stopped_reason == "max_steps" and [row["epoch_fraction"] for row in result.history] == [1.0, 1.0]


def test_a_step_budget_run_resumed_after_a_kill_is_bit_identical(tmp_path):
    whole, resumed, saved_epoch = whole_and_resumed(tiny_config(epochs=4, max_steps=9), tmp_path, cut=(2, 1))
    assert saved_epoch == 1
    assert resumed.stopped_reason == whole.stopped_reason == "max_steps"
    assert resumed.history[-1]["val_macro_f1"] == whole.history[-1]["val_macro_f1"]
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]


def test_a_step_budget_changes_the_recipe_hash_only_when_set():
    assert tiny_config().config_hash() == tiny_config(max_steps=None).config_hash()
    assert tiny_config(max_steps=100).config_hash() != tiny_config().config_hash()
