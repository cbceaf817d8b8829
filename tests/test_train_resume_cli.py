"""Kill `fer train` mid-epoch with SIGKILL, `--resume` it: the result equals a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fer_core.cli.app import main
from fer_core.data.loading import load_dataset
from fer_core.training.config import TrainConfig
from fer_core.training.trainer import train

FER = Path(sys.executable).with_name("fer")
EPOCHS = 3
DATA_OPTIONS = {"train": 280, "val": 70, "test": 0}
DATA_ARGS = ["--data", "demo", *[arg for k, v in DATA_OPTIONS.items() for arg in ("--data-opt", f"{k}={v}")]]


def _saved_epoch(out: Path) -> int:
    try:
        return json.loads((out / "state.json").read_text())["progress"]["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _history(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("seconds", "cpu_seconds", "train_images_per_s")} for row in rows]


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path, monkeypatch):
    out = tmp_path / "killed"
    args = ["train", "--model", "mycnn_v1", *DATA_ARGS, "--epochs", str(EPOCHS), "--threads", "1", "--device", "cpu"]
    args += ["--out", str(out), "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([str(FER), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while _saved_epoch(out) < 1 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    killed_at = _saved_epoch(out)
    assert 1 <= killed_at < EPOCHS, f"the run should die mid-way (saved epoch {killed_at})"

    monkeypatch.setattr(sys, "argv", ["fer", "train", "--resume", "--out", str(out), "--threads", "1", "-q"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)

    reference = train(
        TrainConfig(model="mycnn_v1", epochs=EPOCHS, threads=1, device="cpu"),
        load_dataset("demo", options=DATA_OPTIONS),
        tmp_path / "whole",
        quiet=True,
    )
    resumed = json.loads((out / "history.json").read_text())
    assert _history(resumed) == _history(reference.history)
    assert json.loads((out / "best.json").read_text())["val_metrics"] == reference.val_metrics
    a, b = load_file(str(out / "best.safetensors")), load_file(str(reference.checkpoint))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("damage", ["state.safetensors missing", "state.safetensors truncated", "state.json damaged"])
def test_fer_train_resume_on_a_damaged_state_is_one_error_line(tmp_path, monkeypatch, capsys, damage):
    from tests.cli_support import run_fer

    out = tmp_path / "run"
    data = ["--data", "demo", "--data-opt", "train=28", "--data-opt", "val=14", "--data-opt", "test=0"]
    args = ["train", "--model", "mycnn_v1", *data, "--epochs", "1", "--threads", "1", "--out", str(out), "-q"]
    code, _, err = run_fer(monkeypatch, capsys, *args)
    assert code == 0, err
    weights = out / "state.safetensors"
    if damage == "state.safetensors missing":
        weights.unlink()
    elif damage == "state.safetensors truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (out / "state.json").write_text('{"config": ')
    code, _, err = run_fer(monkeypatch, capsys, "train", "--resume", "--out", str(out), "-q")
    assert code != 0 and err.startswith("error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert ("missing" in err) if "missing" in damage else ("damaged" in err)


def test_fer_train_refuses_to_replace_a_finished_run_without_its_resume_state(tmp_path, monkeypatch, capsys):
    from tests.cli_support import run_fer

    out = tmp_path / "run"
    args = ["train", "--model", "mycnn_v1", "--data", "demo", "--data-opt", "train=28", "--data-opt", "val=14", "--data-opt", "test=0"]
    args += ["--epochs", "1", "--threads", "1", "--out", str(out), "-q"]
    assert run_fer(monkeypatch, capsys, *args).code == 0
    for name in ("state.safetensors", "state.json"):
        (out / name).unlink()
    code, _, err = run_fer(monkeypatch, capsys, *args)
    assert code != 0 and err.startswith("error:") and "holds a finished run" in err and "--overwrite" in err
