"""Acceptance on the real data in ../shared/data (skipped where it is absent): counts as in SOURCES.md."""

from pathlib import Path

import numpy as np
import pytest

from fer_core.data.dedup import duplicate_report, exclude_train_duplicates
from fer_core.data.fer2013_csv import write_fer_csv
from fer_core.data.loading import load_dataset
from fer_core.data.splits import kfold

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (DATA / "fer2013").is_dir() or not (DATA / "ckplus").is_dir(), reason=f"{DATA} is absent"),
]
FER_COUNTS = {
    "train": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "val": [467, 56, 496, 895, 653, 415, 607],
}
CK_COUNTS = {"angry": 135, "contempt": 54, "disgust": 177, "fear": 75, "happy": 207, "sad": 84, "surprise": 249}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def fer(cache_dir):
    return load_dataset(DATA / "fer2013", cache_dir=cache_dir)


def test_fer2013_folders_load_with_the_official_counts(fer):
    assert fer.meta["format"] == "FER-2013 image folders (train/val/test folders)"
    assert fer.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert set(fer.splits) == {"train", "val"}
    for split, counts in FER_COUNTS.items():
        assert np.bincount(fer.splits[split].labels, minlength=7).tolist() == counts
    assert len(fer.splits["train"]) == 28709 and len(fer.splits["val"]) == 3589
    assert fer.splits["train"].images.shape[1:] == (48, 48)
    assert fer.protocol == "fer2013:train->publictest:7cls"


def test_fer2013_second_load_is_cached_and_identical(fer, cache_dir):
    again = load_dataset(DATA / "fer2013", cache_dir=cache_dir)
    assert again.meta["cache_hit"] is True
    assert np.array_equal(again.splits["val"].images, fer.splits["val"].images)


def test_fer2013_has_280_val_images_with_a_copy_in_train(fer):
    cross = duplicate_report(fer)["cross_split"]["val_in_train"]
    assert cross["files_with_copy"] == 280
    assert cross["distinct_images"] == 270
    assert cross["matched_reference_files"] == 351
    assert cross["with_a_differently_labelled_copy"] == 13
    assert len(exclude_train_duplicates(fer, "val").splits["val"]) == 3589 - 280


@pytest.mark.slow
def test_a_csv_written_from_the_fer2013_images_loads_to_identical_arrays_and_splits(fer, tmp_path):
    train, val = fer.splits["train"], fer.splits["val"]
    path = tmp_path / "fer2013.csv"
    write_fer_csv(
        path,
        np.concatenate([train.images, val.images]),
        np.concatenate([train.labels, val.labels]),
        np.array(["train"] * len(train) + ["val"] * len(val)),
    )
    from_csv = load_dataset(path, cache=False)
    assert from_csv.protocol == fer.protocol
    assert set(from_csv.splits) == {"train", "val"}
    for name in ("train", "val"):
        assert np.array_equal(from_csv.splits[name].images, fer.splits[name].images)
        assert np.array_equal(from_csv.splits[name].labels, fer.splits[name].labels)


def test_ckplus_loads_981_images_of_118_subjects_and_folds_share_no_subject(cache_dir):
    ck = load_dataset(DATA / "ckplus", cache_dir=cache_dir)
    counts = {c: 0 for c in ck.classes}
    for split in ck.splits.values():
        for c, n in zip(ck.classes, np.bincount(split.labels, minlength=len(ck.classes)), strict=True):
            counts[c] += int(n)
    assert counts == CK_COUNTS
    assert ck.meta["subjects"] == 118
    subjects = [set(s.groups.tolist()) for s in ck.splits.values()]
    assert not (subjects[0] & subjects[1]) and not (subjects[0] & subjects[2]) and not (subjects[1] & subjects[2])
    for fold in kfold(ck, 10):
        assert not set(fold.splits["train"].groups.tolist()) & set(fold.splits["test"].groups.tolist())
        assert len(fold.splits["train"]) + len(fold.splits["test"]) == 981
