import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fer_core.data.fer2013_csv import read_fer_csv, write_fer_csv
from fer_core.data.loading import load_dataset
from fer_core.errors import DataError

SPLITS = np.array(["train", "val", "test"])


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(n: int, side: int = 48, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    usages = ["Training", "PublicTest", "PrivateTest"]
    return [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, side * side)))},{usages[i % 3]}" for i in range(n)]


def test_a_written_csv_loads_to_identical_arrays_and_splits(tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(30, 48, 48), dtype=np.uint8)
    labels = rng.integers(0, 7, size=30)
    splits = SPLITS[np.arange(30) % 3]
    order = np.argsort([{"train": 0, "val": 1, "test": 2}[s] for s in splits], kind="stable")
    images, labels, splits = images[order], labels[order], splits[order]
    path = tmp_path / "fer2013.csv"
    write_fer_csv(path, images, labels, splits)
    dataset = load_dataset(path, cache=False)
    assert dataset.meta["format"].startswith("FER-2013 CSV")
    assert dataset.protocol == "fer2013:train->privatetest:7cls"
    for name in SPLITS:
        chosen = splits == name
        assert np.array_equal(dataset.splits[name].images, images[chosen])
        assert np.array_equal(dataset.splits[name].labels, labels[chosen])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    images=arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 4)).map(lambda t: (t[0], t[1], t[1]))),
    data=st.data(),
)
def test_parser_round_trips_any_square_images(tmp_path, images, data):
    n = len(images)
    labels = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    splits = np.array(data.draw(st.lists(st.sampled_from(list(SPLITS)), min_size=n, max_size=n)))
    path = tmp_path / "round.csv"
    write_fer_csv(path, images, labels, splits)
    table = read_fer_csv(path)
    assert np.array_equal(table.images, images)
    assert np.array_equal(table.labels, labels)
    assert table.splits.tolist() == splits.tolist()


CORRUPTIONS = {
    "drop a value": (lambda px: " ".join(px.split()[:-1]), r"expected 4 pixel values, got 3"),
    "extra value": (lambda px: px + " 7", r"expected 4 pixel values, got 5"),
    "non-integer": (lambda px: px.replace(px.split()[0], "1.5", 1), r"pixel value '1.5' is not an integer"),
    "word": (lambda px: "abc " + " ".join(px.split()[1:]), r"pixel value 'abc' is not an integer"),
    "too large": (lambda px: "300 " + " ".join(px.split()[1:]), r"pixel value 300 is out of range 0-255"),
    "empty": (lambda px: "", r"expected 4 pixel values, got 0"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 12), data=st.data())
def test_a_corrupt_row_is_an_error_naming_that_row(tmp_path, n, data):
    bad_row = data.draw(st.integers(1, n - 1))
    kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)))
    corrupt, message = CORRUPTIONS[kind]
    rows = [r.split(",") for r in _rows(n, side=2, seed=n)]
    rows[bad_row][1] = corrupt(rows[bad_row][1])
    path = _write(tmp_path / "bad.csv", ["emotion,pixels,Usage", *[",".join(r) for r in rows]])
    with pytest.raises(DataError) as error:
        read_fer_csv(path)
    text = str(error.value)
    assert f"row {bad_row} (line {bad_row + 2})" in text
    assert re.search(message, text), text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("emotion", "9", r"row 1 \(line 3\): emotion '9' is not an emotion id 0-6"),
        ("emotion", "happy", r"emotion 'happy' is not an emotion id"),
        ("Usage", "Holdout", r"row 1 \(line 3\): unknown Usage 'Holdout'"),
    ],
)
def test_bad_emotion_or_usage_names_the_row(tmp_path, column, value, message):
    rows = [r.split(",") for r in _rows(3, side=2)]
    rows[1][0 if column == "emotion" else 2] = value
    path = _write(tmp_path / "bad.csv", ["emotion,pixels,Usage", *[",".join(r) for r in rows]])
    with pytest.raises(DataError, match=message):
        read_fer_csv(path)


def test_kaggle_header_spaces_are_accepted_and_missing_usage_means_train(tmp_path):
    spaced = _write(tmp_path / "icml.csv", ["emotion, Usage, pixels", "3, Training, 1 2 3 4", "5, PublicTest, 4 3 2 1"])
    table = read_fer_csv(spaced)
    assert table.splits.tolist() == ["train", "val"]
    assert table.images[1].ravel().tolist() == [4, 3, 2, 1]
    no_usage = _write(tmp_path / "nousage.csv", ["emotion,pixels", *[f"{i % 7},{i} {i} {i} {i}" for i in range(40)]])
    dataset = load_dataset(no_usage, cache=False, val_fraction=0.25)
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 30, "val": 10}


def test_missing_columns_and_empty_files_are_errors(tmp_path):
    with pytest.raises(DataError, match="missing column"):
        read_fer_csv(_write(tmp_path / "a.csv", ["emotion,Usage", "1,Training"]))
    with pytest.raises(DataError, match="no data rows"):
        read_fer_csv(_write(tmp_path / "b.csv", ["emotion,pixels,Usage"]))
    with pytest.raises(DataError, match="not a square image"):
        read_fer_csv(_write(tmp_path / "c.csv", ["emotion,pixels,Usage", "1,1 2 3,Training"]))


def test_second_csv_load_comes_from_the_cache(tmp_path):
    path = _write(tmp_path / "fer2013.csv", ["emotion,pixels,Usage", *_rows(12)])
    first = load_dataset(path, cache_dir=tmp_path / "cache")
    second = load_dataset(path, cache_dir=tmp_path / "cache")
    assert first.meta["cache_hit"] is False and second.meta["cache_hit"] is True
    for name in first.splits:
        assert np.array_equal(first.splits[name].images, second.splits[name].images)
