"""int8 checkpoint storage: a quarter of float32 on disk, float32 weights within half a quantisation step once loaded."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fer_core.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from fer_core.errors import CheckpointError
from fer_core.quantize import ENCODING, SCALE_SUFFIX, dequantize_state, quantize_state
from fer_core.registry import get_registry
from tests.predict_support import CLASSES, checkpoint_meta


def trained_looking_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = get_registry().create("models", "mycnn_v3").build(len(CLASSES), 1, 48).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # non-trivial running statistics, as after training
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model


def test_quantised_weights_come_back_within_half_a_step_per_channel():
    state = trained_looking_model().state_dict()
    stored = quantize_state(state)
    restored = dequantize_state(stored)
    assert restored.keys() == state.keys()
    quantised = [name for name in stored if name.endswith(SCALE_SUFFIX)]
    assert quantised and all(stored[name.removesuffix(SCALE_SUFFIX)].dtype == torch.int8 for name in quantised)
    for name in quantised:
        weight, scale = state[name.removesuffix(SCALE_SUFFIX)], stored[name]
        error = (restored[name.removesuffix(SCALE_SUFFIX)] - weight).abs().reshape(len(scale), -1).amax(1)
        assert torch.all(error <= scale / 2 + 1e-7)
    small = [name for name, t in state.items() if t.ndim < 2 or not t.is_floating_point()]
    assert small and all(torch.equal(restored[name], state[name]) and restored[name].dtype == state[name].dtype for name in small)


def test_an_int8_checkpoint_is_a_quarter_of_float32_and_loads_as_float32(tmp_path):
    model = trained_looking_model()
    plain = save_checkpoint(tmp_path / "plain", model, checkpoint_meta(model="mycnn_v3"))
    small = save_checkpoint(tmp_path / "small", model, checkpoint_meta(model="mycnn_v3"), int8=True)
    assert small.stat().st_size < 0.3 * plain.stat().st_size
    meta = read_metadata(small)
    assert meta["format_version"] == 2 and meta["weight_encoding"] == ENCODING
    assert json.loads(small.with_suffix(".json").read_text())["weight_encoding"] == ENCODING
    assert read_metadata(plain)["format_version"] == 1 and "weight_encoding" not in read_metadata(plain)
    loaded, _ = load_checkpoint(small)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = torch.randn(8, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = torch.softmax(model(x), 1), torch.softmax(loaded(x), 1)
    assert (got - expected).abs().max() < 0.02 and torch.equal(got.argmax(1), expected.argmax(1))


def test_a_checkpoint_in_an_unknown_encoding_or_newer_format_is_refused(tmp_path):
    model = trained_looking_model()
    odd = save_checkpoint(tmp_path / "odd", model, checkpoint_meta(model="mycnn_v3"), int8=True)
    meta = read_metadata(odd) | {"weight_encoding": "int4-grouped"}
    save_file(load_file(str(odd)), str(odd), metadata={"fer": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="unknown weight encoding 'int4-grouped'; upgrade fer-core"):
        load_checkpoint(odd)
    save_file(load_file(str(odd)), str(odd), metadata={"fer": json.dumps(meta | {"format_version": 3})})
    with pytest.raises(CheckpointError, match=r"written by a newer fer \(format 3\)"):
        read_metadata(odd)


def test_an_export_of_an_int8_checkpoint_is_a_plain_float_export(tmp_path):
    pytest.importorskip("onnx")
    from fer_core.predict.export import export_checkpoint, parse_export_metadata, sidecar_path

    model = trained_looking_model()
    small = save_checkpoint(tmp_path / "small", model, checkpoint_meta(model="mycnn_v3"), int8=True)
    target = export_checkpoint(small, "onnx", tmp_path / "model.onnx")
    meta = parse_export_metadata(sidecar_path(target).read_text(), target)
    assert meta["format_version"] == 1 and "weight_encoding" not in meta
