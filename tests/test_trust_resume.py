"""A run stopped between its first checkpoint and its first resume state (a Ctrl-C or kill during the first state
write) is called what it is, not "finished" (issue 18 item 4/5 wording, found by interrupting fer train mid-write)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_core.errors import UsageError
from fer_core.training.recording import BEST, BEST_META
from fer_core.training.resume import interrupted_before_state, prepare_run_folder, saved_run
from tests.data_support import small_checkpoint


def _run_with_only_a_best(folder: Path, stopped_reason: str) -> Path:
    folder.mkdir()
    weights = small_checkpoint(folder, {"stopped_reason": stopped_reason, "epochs": 1, "best_epoch": 1})
    weights.rename(folder / BEST)
    weights.with_suffix(".json").rename(folder / BEST_META)
    return folder


def test_a_best_checkpoint_still_running_without_state_is_an_interrupted_run(tmp_path):
    run = _run_with_only_a_best(tmp_path / "run", "running")
    assert interrupted_before_state(run) == 1
    with pytest.raises(UsageError) as caught:
        saved_run(run)
    message = str(caught.value)
    assert "interrupted before its resume state was first saved (best.safetensors of epoch 1)" in message
    assert "finished" not in message and "--overwrite" in message


def test_a_fresh_start_on_it_is_refused_in_those_words_unless_overwrite(tmp_path):
    run = _run_with_only_a_best(tmp_path / "run", "running")
    with pytest.raises(UsageError, match=r"interrupted before its resume state was first saved.*pass --overwrite"):
        prepare_run_folder(run, resume=False, overwrite=False)
    assert (run / BEST).is_file()
    assert prepare_run_folder(run, resume=False, overwrite=True) is None
    assert not (run / BEST).exists() and not (run / BEST_META).exists()


def test_a_finished_run_without_state_is_still_called_finished(tmp_path):
    run = _run_with_only_a_best(tmp_path / "run", "max_epochs")
    assert interrupted_before_state(run) is None
    with pytest.raises(UsageError, match=r"holds a finished run \(best.safetensors\) whose resume state is gone"):
        saved_run(run)
    with pytest.raises(UsageError, match=r"holds a finished run \(best.safetensors\) and no resume state"):
        prepare_run_folder(run, resume=False, overwrite=False)


def test_an_unreadable_best_checkpoint_counts_as_finished_and_is_never_replaced_silently(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / BEST).write_bytes(b"\x00" * 64)
    assert interrupted_before_state(run) is None
    with pytest.raises(UsageError, match="finished run"):
        prepare_run_folder(run, resume=False, overwrite=False)
    assert (run / BEST).read_bytes() == b"\x00" * 64


def _forged_state(folder: Path, **progress: object) -> Path:
    import torch

    from fer_core.training.state import save_state

    folder.mkdir()
    good = {"epoch": 1, "best_macro_f1": 0.5, "best_epoch": 1, "bad_epochs": 0, "train_seconds": 1.0, "stopped_reason": ""}
    state = {
        "config": {"model": "mycnn_v1", "epochs": 3, "max_steps": 10},
        "config_hash": "x",
        "commands": ["fer train"],
        "progress": {**good, "history": [], "best_val_metrics": {}, **progress},
        "model": {"w": torch.zeros(2)},
    }
    save_state(folder, state)
    return folder


@pytest.mark.parametrize(
    ("progress", "named"),
    [
        ({"epoch": "abc"}, 'progress.epoch is "abc"'),
        ({"epoch": -5}, "progress.epoch is -5"),
        ({"epoch": True}, "progress.epoch is true"),
        ({"epoch": 10**12}, "progress.epoch 1000000000000 is past the recipe's 3 epochs"),
        ({"best_epoch": 2}, "progress.best_epoch 2 is after progress.epoch 1"),
        ({"history": "x"}, 'progress.history is "x"'),
        ({"history": [1, 2]}, "progress.history is [1, 2]"),
        ({"best_macro_f1": float("nan")}, "progress.best_macro_f1 is NaN"),
        ({"train_seconds": -1.0}, "progress.train_seconds is -1.0"),
        ({"best_val_metrics": [1]}, "progress.best_val_metrics is [1]"),
        ({"stopped_reason": 3}, "progress.stopped_reason is 3"),
        ({"steps": -1}, "progress.steps is -1"),
        ({"steps": 11}, "progress.steps 11 is past the recipe's 10 max steps"),
    ],
)
def test_a_forged_progress_in_the_state_is_one_line_naming_the_field(tmp_path, progress, named):
    from fer_core.errors import CheckpointError
    from fer_core.training.resume import find_saved_run

    run = _forged_state(tmp_path / "run", **progress)
    with pytest.raises(CheckpointError) as caught:
        find_saved_run(run)
    message = str(caught.value)
    assert f"training state is malformed ({named})" in message and "\n" not in message


def test_a_sound_progress_reads_back(tmp_path):
    from fer_core.training.resume import find_saved_run, progress_from

    saved = find_saved_run(_forged_state(tmp_path / "run"))
    assert saved is not None and saved.epoch == 1 and not saved.finished
    assert progress_from(saved.progress).best_epoch == 1


@pytest.mark.parametrize("part", ["optimizer", "model"])
def test_a_saved_state_that_does_not_fit_the_run_is_one_line_on_resume(tmp_path, part):
    """A state.safetensors whose optimizer groups or model tensors do not fit (forged, or copied from another run)."""
    import torch

    from fer_core.errors import CheckpointError
    from fer_core.training.config import TrainConfig
    from fer_core.training.state import load_state, save_state
    from fer_core.training.trainer import train
    from tests.bench_support import tiny_demo

    config = TrainConfig(model="mycnn_v1", epochs=2, augment="none", threads=1, patience=0)
    run = tmp_path / "run"

    def stop_in_epoch_two(epoch: int, batch: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tiny_demo(), run, quiet=True, on_batch=stop_in_epoch_two)
    state = load_state(run)
    if part == "optimizer":
        state["optimizer"] = {"state": {}, "param_groups": []}
    else:
        state["model"] = {"features.0.0.weight": torch.zeros(1)}
    save_state(run, state)
    with pytest.raises(CheckpointError) as caught:
        train(config, tiny_demo(), run, resume=True, quiet=True)
    message = str(caught.value)
    assert "state.safetensors: the training state does not fit this run" in message and "\n" not in message


def test_after_a_ctrl_c_fer_train_suggests_resume_only_when_a_state_was_saved(tmp_path):
    from fer_core.cli.train_cmd import _after_interrupt
    from fer_core.runs import plan_training
    from fer_core.training.trainer import train
    from tests.bench_support import tiny_demo

    plan = plan_training({"model": "mycnn_v1", "epochs": 2, "augment": "none", "patience": 0}, data="demo", out_dir=tmp_path / "run")
    assert "no epoch's resume state was saved" in _after_interrupt(plan) and "--overwrite" not in _after_interrupt(plan)

    def stop_in_epoch_two(epoch: int, batch: int) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(plan.config, tiny_demo(), plan.out_dir, quiet=True, on_batch=stop_in_epoch_two)
    assert _after_interrupt(plan) == f"continue this run with: fer train --resume --out {plan.out_dir}"
