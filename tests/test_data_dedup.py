import numpy as np
import pytest

from fer_core.api import Dataset, Split
from fer_core.data.dedup import duplicate_report, exclude_train_duplicates, pixel_hashes, train_duplicate_mask
from fer_core.errors import DataError


def _dataset() -> Dataset:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8)
    train[5] = train[4]  # a within-train copy
    train_labels = np.array([0, 1, 2, 0, 1, 2])
    val = rng.integers(0, 256, size=(5, 4, 4), dtype=np.uint8)
    val[0] = train[0]  # same label as in train
    val[1] = train[1]  # different label
    val[2] = train[4]  # matches two train files
    val[3] = 9  # blank
    val_labels = np.array([0, 2, 1, 0, 1])
    test = np.stack([val[4], rng.integers(0, 256, size=(4, 4), dtype=np.uint8)])
    return Dataset(
        name="toy",
        classes=("a", "b", "c"),
        splits={
            "train": Split(train, train_labels, ids=np.array([f"t{i}" for i in range(6)])),
            "val": Split(val, val_labels, ids=np.array([f"v{i}" for i in range(5)])),
            "test": Split(test, np.array([1, 0])),
        },
        protocol="toy:train->val:3cls",
    )


def test_hashes_identify_exact_copies_only():
    images = np.zeros((3, 4, 4), np.uint8)
    images[1, 0, 0] = 1
    hashes = pixel_hashes(images)
    assert hashes[0] != hashes[1] and hashes[0] == hashes[2]


def test_report_counts_groups_copies_labels_and_blanks():
    report = duplicate_report(_dataset())
    assert report["images"] == 13
    assert report["duplicate_groups"] == 4  # t0/v0, t1/v1, t4/t5/v2, v4/test0
    assert report["files_in_duplicate_groups"] == 9
    assert report["groups_with_conflicting_labels"] == 2  # t1 (b) vs v1 (c); t4 (b) vs t5 (c)
    assert report["extra_copies_within_split"] == {"train": 1, "val": 0, "test": 0}
    assert report["blank_images"] == {"train": 0, "val": 1, "test": 0}
    assert report["cross_split"]["val_in_train"] == {
        "files_with_copy": 3,
        "distinct_images": 3,
        "matched_reference_files": 4,
        "with_a_differently_labelled_copy": 2,  # v1; v2 (its copy t5 is labelled c)
        "with_no_same_label_copy": 1,  # v1
    }
    assert report["cross_split"]["test_in_val"]["files_with_copy"] == 1
    assert report["cross_split"]["test_in_train"]["files_with_copy"] == 0


def test_exclude_train_duplicates_drops_exactly_the_copies():
    dataset = _dataset()
    assert train_duplicate_mask(dataset, "val").tolist() == [True, True, True, False, False]
    clean = exclude_train_duplicates(dataset, "val")
    assert clean.splits["val"].ids.tolist() == ["v3", "v4"]
    assert clean.splits["train"] is dataset.splits["train"]
    assert clean.protocol == "toy:train->val-dedup:3cls"
    assert clean.meta["excluded_train_duplicates"] == {"val": 3}
    with pytest.raises(DataError, match="no 'holdout' split"):
        exclude_train_duplicates(dataset, "holdout")
