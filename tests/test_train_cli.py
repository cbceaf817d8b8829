"""`fer train` and `fer eval` end to end on (a small slice of) the demo data, and their one-line errors."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

from fer_core.bench.schema import split_metrics
from fer_core.cli.app import main
from tests.cli_support import run_fer, run_fer_process

ONE_THREAD = {"OMP_NUM_THREADS": "1"}
DEMO = ["--data", "demo", "--data-opt", "train=210", "--data-opt", "val=105", "--data-opt", "test=70"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["fer", "train", "--model", "mycnn_v1", *DEMO, "--epochs", "2", "--threads", "1", "--out", str(out), "-q"])
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        mp.undo()
    return out


def test_eval_in_a_fresh_process_reproduces_the_sidecar_metrics_exactly(demo_run):
    sidecar = json.loads((demo_run / "best.json").read_text())
    assert sidecar["command"].startswith("fer train --model mycnn_v1 --data demo")
    done = run_fer_process("eval", "--checkpoint", str(demo_run / "best.safetensors"), *DEMO, "--json", env_extra=ONE_THREAD, script=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["split"] == "val" and result["synthetic"] is True and result["n"] == 105
    for key, value in sidecar["val_metrics"].items():
        assert result[key] == value, key


def test_eval_defaults_to_the_recorded_data_and_reports_tta_separately(demo_run, monkeypatch, capsys):
    code, out, err = run_fer(monkeypatch, capsys, "eval", "--checkpoint", str(demo_run), "--json")
    assert code == 0, err
    plain = json.loads(out)
    assert plain["n"] == 105 and plain["tta"] == "none"
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(demo_run), "--split", "test", "--tta", "flip", "--json")
    assert code == 0, err
    flipped = json.loads(out)
    assert flipped["split"] == "test" and flipped["tta"] == "none" and flipped["n"] == 70
    assert flipped["with_tta"]["tta"] == "flip" and flipped["with_tta"]["n"] == 70
    code, out, _ = run_fer(monkeypatch, capsys, "eval", "-c", str(demo_run), "--tta", "tencrop")
    assert code == 0 and "macro-F1" in out and "SYNTHETIC" in out and "tencrop TTA" in out
    for metric in split_metrics():  # the human table lists every per-split metric of the results schema, formatted by it
        assert f"{metric.header} " in out and metric.format(plain[metric.name]) in out, metric.name


def test_eval_refuses_pickles_in_one_line(tmp_path, monkeypatch, capsys):
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    disguised = tmp_path / "model.safetensors"
    disguised.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    for path, reason in ((pickled, "refusing to load a pickle"), (disguised, "not a safetensors file")):
        code, _, err = run_fer(monkeypatch, capsys, "eval", "--checkpoint", str(path), "--data", "demo")
        assert code == 1
        assert err.startswith("error:") and reason in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["train", "--model", "no_such_model", "--data", "demo"], 2, "unknown model 'no_such_model'"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--lr", "-1"], 2, "learning rate must be > 0"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--schedule", "linear"], 2, "schedule must be one of"),
        (["train", "--model", "mycnn_v1"], 2, "missing --data"),
        (["train", "--resume"], 2, "--resume needs --out"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--balancer-opt", "oops"], 2, "expects KEY=VALUE"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--weight-decay", "nan"], 2, "option '--weight-decay' expects a finite number"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--input-size", "100000"], 2, "input size must be <= 512, got 100000"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--epochs", "abc"], 2, "option '--epochs' expects an integer, got 'abc'"),
        (["train", "--model", "mycnn_v1", "--data", "demo", "--device", "gpu"], 2, "device must be one of auto, cpu, cuda or cuda:N"),
    ],
)
def test_train_usage_errors(monkeypatch, capsys, args, code, message):
    got, _, err = run_fer(monkeypatch, capsys, *args)
    assert got == code and message in err and len(err.strip().splitlines()) == 1


def test_eval_usage_errors(demo_run, monkeypatch, capsys):
    code, _, err = run_fer(monkeypatch, capsys, "eval", "-c", str(demo_run), "--split", "nosuch")
    assert code == 2 and "has no 'nosuch' split" in err
    code, _, err = run_fer(monkeypatch, capsys, "eval", "-c", str(demo_run), "--tta", "spin")
    assert code == 2 and "unknown test-time augmentation" in err


def test_a_finished_run_is_replaced_only_with_overwrite(demo_run, monkeypatch, capsys):
    args = ["train", "--model", "mycnn_v1", *DEMO, "--epochs", "1", "--threads", "1", "--out", str(demo_run), "-q"]
    code, _, err = run_fer(monkeypatch, capsys, *args)
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert json.loads((demo_run / "best.json").read_text())["config"]["epochs"] == 2, "the finished run is untouched"
    code, _out, err = run_fer(monkeypatch, capsys, *args, "--overwrite")
    assert code == 0, err
    assert json.loads((demo_run / "best.json").read_text())["config"]["epochs"] == 1


def test_the_run_folder_policy_is_the_library_s(tmp_path):
    from datetime import datetime

    from fer_core.runs import plan_training, train_run_dir

    assert train_run_dir("timm/resnet10t", datetime(2025, 1, 2, 3, 4, 5)) == Path("runs/train-20250102-030405-timm_resnet10t")
    plan = plan_training({"model": "mycnn_v1", "epochs": 2}, data="demo", data_options={"train": "210"})
    assert plan.out_dir.parent == Path("runs") and plan.out_dir.name.startswith("train-") and plan.config.epochs == 2
    assert plan_training({"model": "mycnn_v1"}, data="demo", out_dir=tmp_path).resume_command == f"fer train --resume --out {tmp_path}"
