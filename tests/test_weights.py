"""Named weights (``fer.weights``): found by name from any directory, a third party publishes them like a model,
a path still works wherever a name does."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from fer_core.errors import CheckpointError
from fer_core.predict.scenes import face_scene
from fer_core.predict.weights import DEFAULT_WEIGHTS, is_bare_name, resolve_weights, weights_path
from tests.cli_support import run_fer, run_fer_process
from tests.fakedist import make_distribution
from tests.predict_support import make_checkpoint

SHIPPED = ("fer-fast", "fer-accurate", "fer-ensemble")


def third_party_site(site: Path, checkpoint: Path, *, relative: bool = False) -> Path:
    """A distribution `my-weights` whose `fer.weights` entry `my-faces` points at ``checkpoint``."""
    path = repr(checkpoint.name) if relative else repr(str(checkpoint))
    source = f'class MyFaces:\n    description = "test weights from a third party"\n    path = {path}\n'
    return make_distribution(site, "my-weights", {"fer.weights": {"my-faces": "my_weights_pkg:MyFaces"}}, {"my_weights_pkg": source})


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photo")
    cv2.imwrite(str(folder / "face.png"), face_scene()[0])
    return folder / "face.png"


def test_the_shipped_weights_resolve_to_installed_files():
    for name in SHIPPED:
        path = resolve_weights(name)
        assert path.is_file() and path.suffix == ".safetensors" and path.stem == name
        assert resolve_weights(name.upper()) == path  # names are case-insensitive
    assert resolve_weights(None) == weights_path(DEFAULT_WEIGHTS)


def test_paths_are_never_taken_for_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not is_bare_name("./fer-fast") and not is_bare_name("fer-fast.safetensors") and is_bare_name("fer-fast")
    assert resolve_weights("./fer-fast") == Path("./fer-fast")
    assert resolve_weights("runs/x/best.safetensors") == Path("runs/x/best.safetensors")
    local = make_checkpoint(tmp_path)  # model.safetensors here: the bare stem "model" means that local file
    assert resolve_weights("model") == Path("model") and local.is_file()
    with pytest.raises(CheckpointError, match="neither an installed weights name") as caught:
        resolve_weights("fer-nosuch")
    assert all(name in str(caught.value) for name in SHIPPED)


def test_fer_list_weights_from_another_directory_shows_each_with_its_card(tmp_path):
    code, out, err = run_fer_process("list", "weights", "--json", cwd=tmp_path)
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(SHIPPED) <= set(rows)
    for name in SHIPPED:
        row = rows[name]
        assert row["status"] == "ok" and Path(row["path"]).is_file() and Path(row["card"]).is_file()
        assert row["model"] and len(row["classes"]) == 7 and row["input"] == "1x48x48"
        assert 0.5 < row["accuracy"] < 1 and 0.4 < row["macro_f1"] < 1 and row["size_bytes"] > 100_000
        assert "research" in row["licence"].lower()
    code, table, err = run_fer_process("list", "weights", cwd=tmp_path, env_extra={"COLUMNS": "80"})
    assert code == 0, err
    assert max(len(line) for line in table.splitlines()) <= 80
    accurate = rows["fer-accurate"]
    assert f"{100 * accurate['accuracy']:.1f}/{100 * accurate['macro_f1']:.1f}" in table
    flat = " ".join(table.split())  # the cards' descriptions (classes, input, licence) are wrapped below the table at 80
    assert "PublicTest" in table and all(" ".join(rows[name]["description"].split()) in flat for name in SHIPPED)


def test_fer_predict_from_another_directory_uses_the_installed_default(tmp_path, photo):
    code, out, err = run_fer_process("predict", str(photo), "--json", "-q", "--detector", "haar", cwd=tmp_path)
    assert code == 0, err
    document = json.loads(out)
    assert document["weights"] == DEFAULT_WEIGHTS and Path(document["checkpoint"]) == weights_path(DEFAULT_WEIGHTS)
    assert document["results"][0]["status"] == "ok"


def test_a_named_checkpoint_resolves_in_process(monkeypatch, capsys, tmp_path, photo):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_fer(monkeypatch, capsys, "predict", str(photo), "-c", "fer-accurate", "--json", "-q", "--detector", "haar")
    assert code == 0, err
    document = json.loads(out)
    assert document["weights"] == "fer-accurate" and document["model"] == "mycnn_v6"


def test_a_third_party_weights_package_is_found_listed_and_used(tmp_path, photo):
    checkpoint = make_checkpoint(tmp_path / "ckpt", favour="surprise")
    env = {"PYTHONPATH": str(third_party_site(tmp_path / "site", checkpoint))}
    code, out, err = run_fer_process("list", "weights", "--json", env_extra=env, cwd=tmp_path)
    assert code == 0, err
    (row,) = [r for r in json.loads(out) if r["name"] == "my-faces"]
    assert (row["distribution"], row["status"], Path(row["path"])) == ("my-weights", "ok", checkpoint)
    code, out, err = run_fer_process("list", "weights", env_extra={**env, "COLUMNS": "80"}, cwd=tmp_path)
    assert code == 0 and "my-faces" in out

    for spec in ("my-faces", str(checkpoint)):  # the name, and the same file by path
        code, out, err = run_fer_process("predict", str(photo), "-c", spec, "--json", "-q", "--detector", "haar", env_extra=env)
        assert code == 0, err
        document = json.loads(out)
        assert Path(document["checkpoint"]) == checkpoint
        assert document["results"][0]["faces"][0]["label"] == "surprise"


def test_a_relative_path_is_relative_to_the_defining_module(plugins, tmp_path):
    site = tmp_path / "site"
    checkpoint = make_checkpoint(site, favour="happy")  # site/model.safetensors, beside my_weights_pkg.py
    source = 'class MyFaces:\n    description = "relative"\n    path = "model.safetensors"\n'
    plugins.install("my-weights", {"fer.weights": {"my-faces": "my_weights_pkg:MyFaces"}}, {"my_weights_pkg": source})
    assert resolve_weights("my-faces") == checkpoint


def test_a_weights_entry_whose_file_is_missing_says_so_in_one_line(plugins, tmp_path):
    source = f'class Gone:\n    description = "missing"\n    path = {str(tmp_path / "gone.safetensors")!r}\n'
    plugins.install("gone-weights", {"fer.weights": {"gone": "gone_pkg:Gone"}}, {"gone_pkg": source})
    with pytest.raises(CheckpointError, match=r"gone.safetensors is missing \(reinstall gone-weights\)") as caught:
        resolve_weights("gone")
    assert "\n" not in str(caught.value)


def test_an_entry_without_a_path_is_refused(plugins):
    plugins.install("odd-weights", {"fer.weights": {"odd": "odd_pkg:Odd"}}, {"odd_pkg": "class Odd:\n    description = 'x'\n"})
    with pytest.raises(CheckpointError, match="no 'path'"):
        resolve_weights("odd")
