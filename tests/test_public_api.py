"""The public door: ``from fer_core import ...`` names, their laziness, and the README's Python API section, run as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fer_core
from fer_core.errors import UsageError
from tests.bench_support import tiny_demo
from tests.train_support import tiny_config, tiny_dataset

README = Path(__file__).resolve().parents[1] / "README.md"
DOOR = ("train", "evaluate", "load_dataset", "run_bench", "TrainConfig", "Predictor", "get_registry")
HEAVY = ("torch", "torchvision", "cv2", "albumentations", "sklearn", "timm")


def readme_python_api() -> str:
    """The first ```python block of the README's "Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README's Python API section has no python code block"
    return found.group(1)


def test_every_public_name_is_imported_lazily_without_torch():
    probe = f"""
import json, sys
import fer_core
loaded = {{name: module in sys.modules for name, module in fer_core._LAZY.items()}}
from fer_core import {", ".join(DOOR)}
print(json.dumps({{"loaded": loaded, "heavy": sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})}}))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["heavy"] == []  # naming the door's functions loads none of the heavy libraries
    assert not any(report["loaded"].values()), report["loaded"]  # no defining module is imported before its name is used


def test_dir_lists_the_public_names_and_all_exports_them():
    listed = dir(fer_core)
    for name in (*DOOR, "TrainResult", "__version__", "API_VERSION"):
        assert name in listed
        assert name in fer_core.__all__
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        fer_core.not_a_name  # noqa: B018


def test_the_door_names_are_the_library_objects():
    from fer_core.data.loading import load_dataset
    from fer_core.predict import Predictor
    from fer_core.registry import get_registry
    from fer_core.training.config import TrainConfig

    assert fer_core.load_dataset is load_dataset
    assert fer_core.TrainConfig is TrainConfig
    assert fer_core.Predictor is Predictor
    assert fer_core.get_registry is get_registry


def test_readme_python_api_runs(tmp_path, monkeypatch, capsys):
    code, substitutions = re.subn(r"\bepochs=\d+", "epochs=1, threads=1", readme_python_api())
    assert substitutions == 1, "the README example should set epochs once (the test shortens it)"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    exec(compile(code, str(README) + ":Python API", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("TrainResult('mycnn_v1', best_epoch=1/1, val_accuracy=")
    assert printed[0].endswith("out_dir='runs/py-demo')")
    assert re.fullmatch(r"test accuracy \d\.\d{3}, macro-F1 \d\.\d{3}", printed[1])
    assert printed[2] in namespace["result"].meta["classes"]
    assert (tmp_path / "runs" / "py-demo" / "best.safetensors").is_file()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    dataset = tiny_dataset(test=30)
    return fer_core.train(tiny_config(epochs=1), dataset, tmp_path_factory.mktemp("public") / "run", quiet=True), dataset


def test_evaluate_gives_the_same_metrics_from_memory_a_checkpoint_and_a_run_folder(tiny_run):
    result, dataset = tiny_run
    in_memory = fer_core.evaluate(result, dataset, split="test")
    assert fer_core.evaluate(result.checkpoint, dataset, split="test") == in_memory
    assert fer_core.evaluate(str(result.checkpoint.parent), dataset, split="test") == in_memory
    module = fer_core.evaluate(result.model, dataset, split="test", meta=result.meta)
    assert {k: v for k, v in module.items() if k != "checkpoint"} == {k: v for k, v in in_memory.items() if k != "checkpoint"}
    assert in_memory["split"] == "test" and in_memory["model"] == "mycnn_v1"


def test_evaluate_refuses_what_it_cannot_use_in_one_line(tiny_run):
    result, dataset = tiny_run
    with pytest.raises(UsageError, match="needs its checkpoint metadata"):
        fer_core.evaluate(result.model, dataset)
    with pytest.raises(UsageError, match="records no dataset"):
        fer_core.evaluate(result)  # trained on a Dataset in memory: nothing to reload
    with pytest.raises(UsageError, match="not with a loaded Dataset"):
        fer_core.evaluate(result, dataset, data_options={"train": 10})


def test_evaluate_takes_an_installed_weights_name():
    from fer_core.predict.weights import installed_weights

    if "fer-fast" not in installed_weights():
        pytest.skip("fer-weights is not installed")
    metrics = fer_core.evaluate("fer-fast", "demo", split="test", data_options={"train": 2, "val": 7, "test": 21})
    assert metrics["n"] == 21 and metrics["checkpoint"].endswith(".safetensors")


def test_train_takes_settings_as_keywords_and_a_spec_it_records(tmp_path):
    result = fer_core.train(
        data="demo", data_options={"train": 28, "val": 14, "test": 14}, out_dir=tmp_path / "run", quiet=True, **_tiny_settings()
    )
    assert result.meta["data"]["spec"] == "demo" and result.meta["data"]["options"] == {"train": 28, "val": 14, "test": 14}
    assert fer_core.evaluate(result, split="test")["n"] == 14  # the recorded data, reloaded
    text = repr(result)
    assert "\n" not in text and len(text) < 160 and f"out_dir='{tmp_path / 'run'}'" in text


def _tiny_settings() -> dict:
    return {"model": "mycnn_v1", "epochs": 1, "threads": 1, "batch_size": 16, "input_size": 24, "device": "cpu"}


def test_run_bench_takes_plain_arguments_and_returns_the_results(tmp_path):
    outcome = fer_core.run_bench(
        "mycnn_v1",
        [],
        data=tiny_demo(),
        epochs=1,
        augment="none",
        settings={"threads": 1, "batch_size": 32},
        out=tmp_path / "grid",
        speed=False,
    )
    assert outcome.run_dir == tmp_path / "grid" and outcome.report.is_file()
    assert [row["cell_id"] for row in outcome.results.rows] == ["mycnn_v1__none__s0"]
    assert outcome.results.rows[0]["status"] == "ok"
    with pytest.raises(UsageError, match="local executor only"):
        fer_core.run_bench("mycnn_v1", data=tiny_demo(), executor="ray", out=tmp_path / "other")
    with pytest.raises(UsageError, match=r"run_bench: unknown option 'epoch'.*did you mean 'epochs'"):
        fer_core.run_bench("mycnn_v1", data=tiny_demo(), epoch=1, out=tmp_path / "other")


def test_evaluate_scores_a_fold_run_on_its_fold_as_fer_eval_does(tmp_path):
    from fer_core.training.evaluate import evaluate_checkpoint

    small = {"train": 42, "val": 14, "test": 14}
    result = fer_core.train(data="demo", data_options=small, out_dir=tmp_path / "fold", quiet=True, fold="1/2", **_tiny_settings())
    recorded = fer_core.evaluate(result, split="test")
    assert recorded == evaluate_checkpoint(result.checkpoint, "demo", split="test", data_options=small)
    assert recorded["n"] == 35  # the held-out half of the 70 pooled images, not the demo's own 14 test images


def test_run_bench_plans_and_trains_with_the_registry_it_is_given(tmp_path):
    from fer_core.registry import Registry, get_registry
    from tests.bench_support import NanModel

    registry = Registry()
    registry.add_object("models", "nan_model", NanModel, distribution="tests")
    outcome = fer_core.run_bench("nan_model", [], data=tiny_demo(), epochs=1, out=tmp_path / "grid", speed=False, registry=registry)
    (row,) = outcome.results.rows
    assert row["status"] == "failed" and "TrainingDivergedError" in row["error"]  # it trained, so the cell found the model
    assert "nan_model" not in {entry.name for entry in get_registry().entries("models")}
