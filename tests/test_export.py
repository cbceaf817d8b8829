"""`fer export`: ONNX and TorchScript give PyTorch's probabilities within 1e-5 and carry the fer metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fer_core.checkpoint import load_checkpoint, read_metadata
from fer_core.errors import CheckpointError, UsageError
from fer_core.predict import Predictor
from fer_core.predict.export import export_checkpoint, sidecar_path
from fer_core.predict.scenes import face_scene
from tests.cli_support import run_fer
from tests.predict_support import make_checkpoint

BATCH_SIZES = (1, 5)  # the export traces batch 2: both must work through the dynamic axis


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt"))


def torch_probabilities(checkpoint, batch: torch.Tensor) -> np.ndarray:
    model, _ = load_checkpoint(checkpoint)
    with torch.no_grad():
        return torch.softmax(model(batch), dim=1).numpy()


def inputs(batch: int) -> torch.Tensor:
    return torch.randn(batch, 1, 48, 48, generator=torch.Generator().manual_seed(batch))


def test_onnx_matches_pytorch_and_carries_the_metadata(checkpoint, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    target = export_checkpoint(checkpoint, "onnx", tmp_path / "model.onnx")
    proto = onnx.load(str(target))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == 17
    carried = json.loads({p.key: p.value for p in proto.metadata_props}["fer"])
    assert carried["classes"] == read_metadata(checkpoint)["classes"] and carried["export_format"] == "onnx"
    assert json.loads(sidecar_path(target).read_text())["preprocessing"] == read_metadata(checkpoint)["preprocessing"]
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    for batch in BATCH_SIZES:
        x = inputs(batch)
        got = session.run(None, {"input": x.numpy()})[0]
        np.testing.assert_allclose(got, torch_probabilities(checkpoint, x), atol=1e-5, rtol=0)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_matches_pytorch_and_carries_the_metadata(checkpoint, tmp_path):
    target = export_checkpoint(checkpoint, "torchscript", tmp_path)
    assert target.name == "model.torchscript.pt"
    extra = {"fer.json": ""}
    module = torch.jit.load(str(target), _extra_files=extra)
    assert json.loads(extra["fer.json"])["model"] == "mycnn_v1"
    assert json.loads(sidecar_path(target).read_text())["export_format"] == "torchscript"
    for batch in BATCH_SIZES:
        x = inputs(batch)
        with torch.no_grad():
            got = module(x).numpy()
        np.testing.assert_allclose(got, torch_probabilities(checkpoint, x), atol=1e-5, rtol=0)


def test_predict_runs_an_exported_onnx_file_like_the_checkpoint(checkpoint, tmp_path):
    pytest.importorskip("onnxruntime")
    target = export_checkpoint(checkpoint, "onnx", tmp_path / "model.onnx")
    image = face_scene()[0]
    (expected,) = Predictor.from_checkpoint(checkpoint).predict(image)
    from_onnx = Predictor.from_checkpoint(target)
    assert from_onnx.runtime.name == "onnx" and from_onnx.classes == tuple(read_metadata(checkpoint)["classes"])
    (got,) = from_onnx.predict(image)
    assert got.box == expected.box and got.label == expected.label
    assert list(got.probabilities.values()) == pytest.approx(list(expected.probabilities.values()), abs=1e-5)


def test_an_onnx_file_without_fer_metadata_is_refused(checkpoint, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    target = export_checkpoint(checkpoint, "onnx", tmp_path / "model.onnx")
    proto = onnx.load(str(target))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "bare.onnx"))
    with pytest.raises(CheckpointError, match="not a fer export"):
        Predictor.from_checkpoint(tmp_path / "bare.onnx")


def test_unknown_format_is_a_usage_error(checkpoint):
    with pytest.raises(UsageError, match="onnx, torchscript"):
        export_checkpoint(checkpoint, "tflite")


def test_export_command_writes_the_file_and_exits_0(monkeypatch, capsys, checkpoint, tmp_path):
    pytest.importorskip("onnx")
    code, out, err = run_fer(monkeypatch, capsys, "export", "-c", str(checkpoint), "--format", "onnx", "--out", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert out.strip() == str(tmp_path / "m.onnx") and (tmp_path / "m.onnx").stat().st_size > 1000
    assert (tmp_path / "m.onnx.json").is_file()


def test_export_command_refuses_bad_input(monkeypatch, capsys, checkpoint, tmp_path):
    code, _, err = run_fer(monkeypatch, capsys, "export", "-c", str(checkpoint), "--format", "tflite")
    assert code == 2 and "unknown export format 'tflite'" in err
    (tmp_path / "weights.safetensors").write_bytes(b"\x00" * 64)
    code, _, err = run_fer(monkeypatch, capsys, "export", "-c", str(tmp_path / "weights.safetensors"))
    assert code == 1 and err.startswith("error:") and "not a safetensors file" in err


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(checkpoint, tmp_path, monkeypatch, fmt):
    """Each export is written by Python from memory: torch's own file writer aborts the process on a full disk."""
    import errno
    from pathlib import Path

    from fer_core.errors import OutputError

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / f"model.{'onnx' if fmt == 'onnx' else 'pt'}"
    with pytest.raises(OutputError, match="No space left on device"):
        export_checkpoint(checkpoint, fmt, target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("classes", "message"), [(["a", "b", "c"], "names 3 classes but the graph outputs 7"), ("x", "non-empty list")])
def test_an_onnx_export_whose_metadata_lies_about_its_classes_is_refused(checkpoint, tmp_path, classes, message):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from fer_core.predict.loading import load_onnx_export

    target = export_checkpoint(checkpoint, "onnx", tmp_path / "model.onnx")
    proto = onnx.load(str(target))
    prop = next(p for p in proto.metadata_props if p.key == "fer")
    prop.value = json.dumps({**json.loads(prop.value), "classes": classes})
    onnx.save(proto, str(target))
    with pytest.raises(CheckpointError, match=message):
        load_onnx_export(target, "cpu")


def test_quiet_export_prints_only_the_path(checkpoint, tmp_path, monkeypatch, capsys):
    target = tmp_path / "m.onnx"
    code, out, err = run_fer(monkeypatch, capsys, "export", "-c", str(checkpoint), "--out", str(target), "-q")
    assert code == 0 and out.strip() == str(target) and err == ""
    assert target.is_file()
