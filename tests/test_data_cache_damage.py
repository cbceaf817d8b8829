"""A decode-cache entry that is damaged (a flipped bit: the zip's CRC fails) or forged (arrays that do not make an
image table) is rebuilt from the files with a warning, never a traceback and never trusted (issue 18 spirit: found
by flipping one byte of an entry, which gave a zipfile.BadZipFile traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_core.data.loading import load_dataset
from fer_core.data.table import ImageTable
from tests.data_support import make_label_folder


@pytest.fixture
def cached(tmp_path) -> tuple[Path, Path, np.ndarray]:
    """A folder dataset, its one cache entry, and the training images it decodes to."""
    root = make_label_folder(tmp_path / "data", {"happy": 4, "sad": 4})
    first = load_dataset(root, cache_dir=tmp_path / "cache", val_fraction=0)
    (entry,) = (tmp_path / "cache").rglob("*.npz")
    return root, entry, first.splits["train"].images


def _reload(root: Path, entry: Path) -> np.ndarray:
    with pytest.warns(UserWarning, match="ignoring unreadable data cache entry"):
        dataset = load_dataset(root, cache_dir=entry.parents[1], val_fraction=0)
    return dataset.splits["train"].images


def test_a_flipped_byte_in_an_entry_is_rebuilt_from_the_files(cached):
    root, entry, images = cached
    data = bytearray(entry.read_bytes())
    data[len(data) // 3] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert np.array_equal(_reload(root, entry), images)


def test_a_truncated_entry_is_rebuilt(cached):
    root, entry, images = cached
    entry.write_bytes(entry.read_bytes()[:1000])
    assert np.array_equal(_reload(root, entry), images)


@pytest.mark.parametrize(
    "forge",
    [
        lambda a: {**a, "labels": a["labels"] + 99},  # labels outside the label names
        lambda a: {**a, "labels": a["labels"][:-1]},  # one label short
        lambda a: {**a, "images": a["images"].astype(np.float64)},  # not uint8
        lambda a: {**a, "splits": np.array(["nowhere"] * len(a["splits"]))},
        lambda a: {k: v for k, v in a.items() if k != "ids"},  # a member missing
    ],
)
def test_forged_arrays_are_not_trusted(cached, forge):
    root, entry, images = cached
    with np.load(entry, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    np.savez(entry, **forge(arrays))
    assert np.array_equal(_reload(root, entry), images)


def test_a_consistent_table_round_trips():
    table = ImageTable(
        images=np.zeros((2, 4, 4), np.uint8),
        labels=np.array([0, 1]),
        label_names=("happy", "sad"),
        splits=np.array(["train", "test"]),
        ids=np.array(["a", "b"]),
    )
    again = ImageTable.from_arrays(table.to_arrays())
    assert again.label_names == table.label_names and np.array_equal(again.labels, table.labels)
