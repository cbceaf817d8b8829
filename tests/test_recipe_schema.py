"""The recipe is declared once: one new TrainConfig field is a flag of `fer train` and `fer bench`, in --help,
validated, and recorded, with nothing else changed (the commands read the field list when they are built)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

import pytest

import fer_core.data.loading
import fer_core.training.config
from fer_core.errors import UsageError
from fer_core.training.config import Setting, TrainConfig, coerce_settings, recipe_fields
from tests.bench_support import tiny_demo
from tests.cli_support import run_fer

TINY = ["--data", "demo", "--data-opt", "train=140", "--data-opt", "val=70", "--data-opt", "test=70"]
ONE_EPOCH = ["--epochs", "1", "--threads", "1", "--augment", "none"]


@dataclass(frozen=True)
class WithWarmup(TrainConfig):
    warmup_epochs: Annotated[int, Setting("Epochs of linear learning-rate warm-up.", minimum=0, maximum=50)] = 0


@pytest.fixture
def warmup_field(monkeypatch):
    """TrainConfig with one more field, as if it had been declared in fer_core/training/config.py."""
    monkeypatch.setattr(fer_core.training.config, "TrainConfig", WithWarmup)


def test_a_new_field_is_a_flag_of_both_commands_with_its_help(warmup_field, monkeypatch, capsys):
    for command in ("train", "bench"):
        monkeypatch.setenv("COLUMNS", "200")
        code, out, _ = run_fer(monkeypatch, capsys, command, "--help")
        assert code == 0
        line = next(line for line in out.splitlines() if "--warmup-epochs" in line)
        assert "INTEGER" in line and "Epochs of linear learning-rate warm-up. (default: 0)" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "mycnn_v1", *TINY, "--warmup-epochs", "-1"], "error: warmup epochs must be >= 0, got -1"),
        (
            ["train", "--model", "mycnn_v1", *TINY, "--warmup-epochs", "abc"],
            "error: fer train: option '--warmup-epochs' expects an integer",
        ),
        (["bench", "--models", "mycnn_v1", "--warmup-epochs", "51"], "error: warmup epochs must be <= 50, got 51"),
        (["bench", "--models", "mycnn_v1", "--set", "warmup_epochs=1.5"], "error: --set: option 'warmup_epochs' expects an integer"),
    ],
)
def test_a_new_field_is_validated_in_one_line(warmup_field, args, message, tmp_path, monkeypatch, capsys):
    code, _, err = run_fer(monkeypatch, capsys, *args, "--out", str(tmp_path / "never"))
    assert code == 2 and err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "never").exists()


def test_a_new_field_lands_in_the_recorded_config_of_train_and_bench(warmup_field, tmp_path, monkeypatch, capsys):
    code, _, err = run_fer(
        monkeypatch, capsys, "train", "--model", "mycnn_v1", *TINY, *ONE_EPOCH, "--warmup-epochs", "2", "-o", str(tmp_path / "t")
    )
    assert code == 0, err
    assert json.loads((tmp_path / "t" / "best.json").read_text())["config"]["warmup_epochs"] == 2

    monkeypatch.setattr(fer_core.data.loading, "load_dataset", lambda spec, **kw: tiny_demo())
    args = ["bench", "-m", "mycnn_v1", "-b", "none", *ONE_EPOCH, "--warmup-epochs", "3", "--out", str(tmp_path / "b"), "-q"]
    code, _, err = run_fer(monkeypatch, capsys, *args)
    assert code == 0, err
    cell = json.loads((tmp_path / "b" / "cells" / "mycnn_v1__none__s0" / "result.json").read_text())
    assert cell["config"]["warmup_epochs"] == 3
    assert json.loads((tmp_path / "b" / "run.json").read_text())["spec"]["overrides"]["warmup_epochs"] == 3


def test_a_field_added_later_leaves_existing_hashes_alone_until_it_is_used():
    base = TrainConfig(model="mycnn_v1", epochs=3)
    assert WithWarmup(model="mycnn_v1", epochs=3).config_hash() == base.config_hash()
    assert WithWarmup(model="mycnn_v1", epochs=3, warmup_epochs=1).config_hash() != base.config_hash()


def test_hashes_of_recorded_recipes_are_unchanged():
    """The hashes fer-core 0.1 wrote (computed with the hand-written config) still come out, so old runs resume."""
    assert TrainConfig(model="mycnn_v1").config_hash() == "027079099287"
    assert TrainConfig(model="mycnn_v1", threads=1, lr=1, epochs=3).config_hash() == "c408351abd8f"
    assert TrainConfig(model="mycnn_v1", threads=4, device="cpu").config_hash() == "027079099287", "threads and device are not hashed"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"weight_decay": float("nan")}, "weight decay must be a finite number"),
        ({"input_size": 100_000}, "input size must be <= 512, got 100000"),
        ({"lr": 0}, "learning rate must be > 0"),
        ({"label_smoothing": 1.0}, "label smoothing must be < 1"),
        ({"schedule": "linear"}, "schedule must be one of cosine, plateau, none"),
        ({"device": "gpu"}, "device must be one of auto, cpu, cuda or cuda:N"),
        ({"epochs": "many"}, "epochs must be an integer"),
        ({"balancer_options": ["k"]}, "balancer options must be a mapping"),
    ],
)
def test_python_callers_get_the_same_validation(settings, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig(model="mycnn_v1", **settings)


def test_text_settings_are_typed_by_each_field():
    typed = coerce_settings({"epochs": "3", "time_budget_s": "none", "channels_last": "no", "lr": "1e-2"}, owner="--set")
    assert typed == {"epochs": 3, "time_budget_s": None, "channels_last": False, "lr": 0.01}
    with pytest.raises(UsageError, match=r"unknown training setting\(s\) epoch \(did you mean 'epochs'\?\)"):
        coerce_settings({"epoch": "3"}, owner="--set")
    names = [spec.name for spec in recipe_fields()]
    assert names[:2] == ["model", "model_options"] and len(names) == len(set(names))
