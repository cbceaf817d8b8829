"""Property-based tests: random and mutated CSVs, folders and checkpoint metadata never raise anything but fer's
own errors, and valid inputs round-trip."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fer_core.checkpoint import read_metadata
from fer_core.checkpoint_meta import validate
from fer_core.data.fer2013_csv import read_fer_csv, write_fer_csv
from fer_core.data.images import DataWarning
from fer_core.data.loading import load_dataset
from fer_core.errors import CheckpointError, FerError
from fer_core.preprocess import Preprocessing
from tests.data_support import FER_FOLDERS, rewrite_fer_metadata, small_checkpoint

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SPLITS = ("train", "val", "test")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def _fresh(tmp_path: Path, name: str) -> Path:
    """A new empty folder per example (hypothesis reuses the function-scoped tmp_path)."""
    folder = tmp_path / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


# ---- the FER-2013 CSV reader -------------------------------------------------------------------------------------


def _valid_csv(data: st.DataObject) -> tuple[np.ndarray, np.ndarray, list[str]]:
    side = data.draw(st.integers(1, 5), label="side")
    n = data.draw(st.integers(1, 8), label="rows")
    images = data.draw(arrays(np.uint8, (n, side, side)), label="images")
    labels = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    splits = data.draw(st.lists(st.sampled_from(SPLITS), min_size=n, max_size=n))
    return images, labels, splits


@FAST
@given(data=st.data(), bom=st.booleans(), crlf=st.booleans(), trailing=st.integers(0, 3))
def test_valid_csvs_round_trip_with_any_bom_line_ending_and_trailing_blank_lines(tmp_path, data, bom, crlf, trailing):
    images, labels, splits = _valid_csv(data)
    folder = _fresh(tmp_path, "csv")
    path = folder / "fer.csv"
    write_fer_csv(path, images, labels, np.array(splits))
    raw = path.read_bytes() + b"\n" * trailing
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
    table = read_fer_csv(path)
    assert np.array_equal(table.images, images) and np.array_equal(table.labels, labels) and table.splits.tolist() == splits


def _mutate(raw: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate-line", "swap-lines"]), label="mutation")
    if not raw:
        return raw
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    if kind == "truncate":
        return raw[:at]
    if kind == "flip":
        return raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1 :]
    if kind == "insert":
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if kind == "delete":
        return raw[:at] + raw[at + data.draw(st.integers(1, 16)) :]
    lines = raw.split(b"\n")
    i, j = data.draw(st.integers(0, len(lines) - 1)), data.draw(st.integers(0, len(lines) - 1))
    if kind == "duplicate-line":
        lines.insert(i, lines[j])
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


@FAST
@given(data=st.data(), rounds=st.integers(1, 3))
def test_mutated_csvs_load_or_fail_with_a_data_error(tmp_path, data, rounds):
    images, labels, splits = _valid_csv(data)
    folder = _fresh(tmp_path, "csv")
    path = folder / "fer.csv"
    write_fer_csv(path, images, labels, np.array(splits))
    raw = path.read_bytes()
    for _ in range(rounds):
        raw = _mutate(raw, data)
    path.write_bytes(raw)
    try:
        table = read_fer_csv(path)
    except FerError as exc:
        assert "\n" not in str(exc)
        return
    assert table.images.dtype == np.uint8 and len(table) == len(table.labels) == len(table.splits) >= 1
    assert table.labels.min() >= 0 and table.labels.max() < len(FER_FOLDERS)


@FAST
@given(text=st.text(alphabet=st.sampled_from(list('emotinpxlsUag0123456789,. -\n\r\t"\ufeff')), max_size=300))
def test_random_text_forced_as_fer2013_loads_or_fails_with_a_fer_error(tmp_path, text):
    folder = _fresh(tmp_path, "csv")
    path = folder / "random.csv"
    path.write_text(text, encoding="utf-8")
    try:
        load_dataset(f"fer2013:{path}", cache=False, val_fraction=0)
    except FerError as exc:
        assert "\n" not in str(exc)


# ---- the image-folder reader -------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1, max_size=12),
    st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")),
)
CONTENTS = st.one_of(
    st.binary(max_size=64),
    st.just(b"\x89PNG\r\n\x1a\n" + b"\0" * 40),
    st.sampled_from(["png", "jpg", "bmp"]).map(lambda ext: cv2.imencode(f".{ext}", np.full((9, 7), 128, np.uint8))[1].tobytes()),
)


def _write_entry(folder: Path, name: str | bytes, content: bytes, how: str) -> None:
    target = os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else os.fsencode(name))
    if os.path.lexists(target):
        return
    if how == "file":
        with open(target, "wb") as handle:
            handle.write(content)
    elif how == "broken-link":
        os.symlink(b"does-not-exist", target)
    elif how == "loop-link":
        os.symlink(os.path.basename(target), target)
    else:
        os.mkdir(target)


@FAST
@given(
    layout=st.lists(
        st.tuples(
            st.sampled_from(["happy", "sad", "train/happy", "val/sad", "weird-label", "Angry"]),
            NAMES,
            st.sampled_from([".png", ".jpg", ".txt", ""]),
            CONTENTS,
            st.sampled_from(["file", "file", "file", "broken-link", "loop-link", "dir"]),
        ),
        min_size=1,
        max_size=8,
    ),
    on_bad=st.sampled_from(["error", "skip"]),
)
def test_random_folders_load_or_fail_with_a_fer_error(tmp_path, layout, on_bad):
    root = _fresh(tmp_path, "folder")
    for label, name, ext, content, how in layout:
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        full = (name + ext) if isinstance(name, str) else name + ext.encode()
        _write_entry(folder, full, content, how)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for spec in (str(root), f"folder:{root}"):
            try:
                dataset = load_dataset(spec, on_bad=on_bad, val_fraction=0, options={"size": 8})
            except FerError as exc:
                assert "\n" not in str(exc)
                continue
            assert all(split.images.shape[1:] == (8, 8) for split in dataset.splits.values())


@FAST
@given(images=arrays(np.uint8, st.tuples(st.integers(2, 6), st.just(8), st.just(8))), data=st.data())
def test_a_valid_folder_round_trips_pixel_for_pixel_and_through_the_cache(tmp_path, images, data):
    root = _fresh(tmp_path, "folder")
    labels = data.draw(st.lists(st.sampled_from(["happy", "sad"]), min_size=len(images), max_size=len(images)))
    assume(len(set(labels)) == 2)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / label).mkdir(exist_ok=True)
        assert cv2.imwrite(str(root / label / f"{i:03d}.png"), image)
    for expect_hit in (False, True):
        dataset = load_dataset(root, val_fraction=0, options={"size": 8})
        assert dataset.meta["cache_hit"] is expect_hit
        split = dataset.splits["train"]
        by_id = {str(i): (img, lab) for i, img, lab in zip(split.ids, split.images, split.labels, strict=True)}
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            got, got_label = by_id[f"{label}/{i:03d}.png"]
            assert np.array_equal(got, image) and dataset.classes[got_label] == label


# ---- checkpoint metadata -----------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["model", "classes", "in_channels", "input_size", "preprocessing", "model_options", "data", "plugin", "config",
          "format", "format_version", "weight_encoding", "val_metrics"]  # fmt: skip


def _good_meta() -> dict:
    return {
        "format": "fer-checkpoint",
        "format_version": 1,
        "model": "mycnn_v1",
        "model_options": {},
        "classes": list(FER_FOLDERS),
        "in_channels": 1,
        "input_size": 48,
        "preprocessing": Preprocessing.default(1, 48).to_dict(),
        "data": {"spec": "demo", "options": {"train": 14}},
    }


@settings(max_examples=100, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON, min_size=1, max_size=3), drop=st.lists(st.sampled_from(FIELDS), max_size=2))
def test_any_mutation_of_metadata_validates_or_is_one_checkpoint_error(changes, drop):
    meta = {**_good_meta(), **changes}
    for key in drop:
        meta.pop(key, None)
    try:
        clean = validate(meta, "x.safetensors")
    except CheckpointError as exc:
        message = str(exc)
        assert message.startswith("x.safetensors: ") and "\n" not in message
        return
    assert isinstance(clean["classes"], list) and all(isinstance(c, str) for c in clean["classes"])
    prep = Preprocessing.from_dict(clean["preprocessing"])
    assert all(s > 0 for s in prep.std) and len(prep.mean) == clean["in_channels"]


@settings(max_examples=100, deadline=None)
@given(meta=JSON)
def test_any_json_value_as_metadata_validates_or_is_one_checkpoint_error(meta):
    try:
        validate(meta, "x")
    except CheckpointError as exc:
        assert str(exc).startswith("x: ") and "\n" not in str(exc)


@settings(max_examples=60, deadline=None)
@given(
    classes=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=10, unique=True),
    channels=st.integers(1, 4),
    size=st.integers(1, 256),
    std=st.floats(0.01, 10),
    extra=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in FIELDS), JSON, max_size=3),
)
def test_valid_metadata_validates_to_itself(classes, channels, size, std, extra):
    meta = {
        **extra,
        **_good_meta(),
        "classes": classes,
        "in_channels": channels,
        "input_size": size,
        "preprocessing": {"channels": channels, "size": size, "mean": [0.5] * channels, "std": [std] * channels},
    }
    assert validate(meta, "x") == meta


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_metadata_in_a_real_file_is_read_or_refused_in_one_line(tmp_path, data):
    folder = _fresh(tmp_path, "ckpt")
    weights = small_checkpoint(folder)
    meta = json.loads(weights.with_suffix(".json").read_text())
    key = data.draw(st.sampled_from(FIELDS))
    meta[key] = data.draw(JSON)
    raw = data.draw(st.booleans())
    rewrite_fer_metadata(weights, meta if not raw else data.draw(JSON), raw=raw and data.draw(st.booleans()))
    try:
        read_metadata(weights)
    except CheckpointError as exc:
        assert str(weights) in str(exc) and "\n" not in str(exc)
