import os
import warnings

import numpy as np
import pytest

from fer_core.data.images import DataWarning
from fer_core.data.loading import detect_source, load_dataset
from fer_core.data.splits import kfold
from fer_core.errors import DataError, UsageError
from tests.data_support import make_ck_folder, make_fer_folder, make_label_folder, random_image, write_image


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def test_generic_folder_converts_any_size_and_channels_and_maps_synonyms(tmp_path):
    root = make_label_folder(tmp_path / "photos", {"Happiness": 6, "SAD": 6, "anger": 6}, shape=(64, 80, 3))
    write_image(root / "SAD" / "gray.png", random_image(np.random.default_rng(1), (30, 30)))
    dataset = load_dataset(root, val_fraction=0.34)
    assert type(detect_source(root, {})).__name__ == "ImageFolderSource"
    assert dataset.classes == ("angry", "happy", "sad")
    assert dataset.image_size == (48, 48) and dataset.channels == 1
    assert dataset.protocol == "photos:folder:3cls"
    assert len(dataset.splits["train"]) + len(dataset.splits["val"]) == 19
    assert set(dataset.splits["val"].labels.tolist()) == {0, 1, 2}  # stratified
    rgb = load_dataset(root, options={"channels": 3, "size": 32})
    assert rgb.splits["train"].images.shape[1:] == (32, 32, 3)


def test_generic_folder_with_split_folders_keeps_them(tmp_path):
    root = tmp_path / "raf"
    for split in ("train", "test"):
        make_label_folder(root / split, {"1": 3, "4": 3})
    with pytest.raises(DataError, match="unknown label '1'"):
        load_dataset(root)
    dataset = load_dataset(root, mapping={"1": "surprise", "4": "happiness"}, val_fraction=0.25)
    assert dataset.classes == ("happy", "surprise")
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 4, "val": 2, "test": 6}


def test_fer_kaggle_folders_recover_official_splits_from_file_names(tmp_path):
    root = make_fer_folder(tmp_path / "fer", per_class=2)
    assert type(detect_source(root, {})).__name__ == "Fer2013Source"
    dataset = load_dataset(root)
    assert dataset.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 14, "val": 14, "test": 14}
    assert all("PublicTest_" in i for i in dataset.splits["val"].ids)
    assert all("PrivateTest_" in i for i in dataset.splits["test"].ids)
    assert dataset.protocol == "fer2013:train->privatetest:7cls"
    assert dataset.meta["splits_from"] == "file-name prefixes"


def test_fer_folders_without_prefixes_can_be_forced_and_use_folder_splits(tmp_path):
    root = tmp_path / "fer"
    for split in ("train", "test"):
        make_label_folder(root / split, {"Angry": 4, "Happy": 4})
    assert type(detect_source(root, {})).__name__ == "ImageFolderSource"
    dataset = load_dataset(f"fer2013:{root}", val_fraction=0.25)
    assert dataset.protocol == "fer2013:train->test:2cls"
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 6, "val": 2, "test": 8}


def test_ckplus_splits_and_folds_never_share_a_subject(tmp_path):
    root = make_ck_folder(tmp_path / "ck", subjects=16)
    assert type(detect_source(root, {})).__name__ == "CKPlusSource"
    dataset = load_dataset(root)
    assert dataset.protocol == "ck+:subject-holdout:7cls"
    assert "contempt" in dataset.classes
    subjects = {name: set(split.groups.tolist()) for name, split in dataset.splits.items()}
    assert set(subjects) == {"train", "val", "test"}
    assert not subjects["train"] & subjects["val"]
    assert not subjects["train"] & subjects["test"]
    assert not subjects["val"] & subjects["test"]
    folds = kfold(dataset, 4)
    total = sum(len(s) for s in dataset.splits.values())
    seen: list[str] = []
    for fold in folds:
        train, test = fold.splits["train"], fold.splits["test"]
        assert not set(train.groups.tolist()) & set(test.groups.tolist())
        assert len(train) + len(test) == total
        seen += test.ids.tolist()
    assert sorted(seen) == sorted(np.concatenate([s.ids for s in dataset.splits.values()]).tolist())
    assert folds[0].protocol == "ck+:4fold-subject:7cls"


def test_merging_fer_and_ck_keeps_or_drops_contempt(tmp_path):
    fer = make_fer_folder(tmp_path / "fer", per_class=2, kaggle=False)
    ck = make_ck_folder(tmp_path / "ck", subjects=16)
    kept = load_dataset(f"{fer}+{ck}", contempt="keep")
    assert kept.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")
    assert kept.protocol == "fer+ck:merged:8cls"
    assert kept.meta["moved_to_train"] == {}
    assert [c["name"] for c in kept.meta["components"]] == ["fer2013", "ckplus"]
    ck_alone = load_dataset(ck)
    assert sum(len(s) for s in kept.splits.values()) == 42 + sum(len(s) for s in ck_alone.splits.values())
    dropped = load_dataset(f"{fer}+{ck}", contempt="drop")
    assert dropped.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert dropped.protocol == "fer+ck:merged:7cls"
    contempt_images = sum(int((s.labels == 7).sum()) for s in kept.splits.values())
    assert contempt_images > 0
    assert sum(len(s) for s in dropped.splits.values()) == sum(len(s) for s in kept.splits.values()) - contempt_images
    ids = np.concatenate([s.ids for s in kept.splits.values()])
    assert len(set(ids.tolist())) == len(ids)


def test_merge_with_a_part_lacking_test_moves_that_split_to_train(tmp_path):
    fer = make_fer_folder(tmp_path / "fer", per_class=2, kaggle=False)
    ck = make_ck_folder(tmp_path / "ck", subjects=16)
    # FER here has train/val/test; the demo has all three too, so build one without test
    only_train = make_label_folder(tmp_path / "own", {"happy": 10, "sad": 10})
    merged = load_dataset(f"{only_train}+{ck}")
    assert set(merged.splits) == {"train", "val"}
    assert merged.meta["moved_to_train"] == {"ckplus": ["test"]}
    assert load_dataset(f"{fer}+{ck}").splits.keys() == {"train", "val", "test"}


def test_class_selection_keeps_only_named_classes(tmp_path):
    dataset = load_dataset("demo", classes="happy,Sadness,neutral", options={"train": 70, "val": 35, "test": 0})
    assert dataset.classes == ("happy", "sad", "neutral")
    assert dataset.protocol == "demo:synthetic:3cls"
    assert set(np.unique(dataset.splits["train"].labels).tolist()) == {0, 1, 2}
    with pytest.raises(DataError, match="classes not in demo: contempt"):
        load_dataset("demo", classes="happy,contempt", options={"train": 14, "val": 7, "test": 0})


def test_cache_is_reused_and_invalidated_by_a_changed_file(tmp_path):
    root = make_label_folder(tmp_path / "data", {"happy": 4, "sad": 4})
    first = load_dataset(root)
    second = load_dataset(root)
    assert (first.meta["cache_hit"], second.meta["cache_hit"]) == (False, True)
    entries = list((tmp_path / "cache" / "data").glob("*.npz"))
    assert len(entries) == 1
    image = random_image(np.random.default_rng(9))
    write_image(root / "happy" / "img000.png", image)
    os.utime(root / "happy" / "img000.png", ns=(1, 1))
    third = load_dataset(root)
    assert third.meta["cache_hit"] is False
    assert any(np.array_equal(image, x) for s in third.splits.values() for x in s.images)
    assert len(list((tmp_path / "cache" / "data").glob("*.npz"))) == 1  # the stale entry is gone
    load_dataset(root, cache=False)
    assert len(list((tmp_path / "cache" / "data").glob("*.npz"))) == 1


def test_skip_bad_files_warns_listing_them_and_loads_the_rest(tmp_path):
    root = make_label_folder(tmp_path / "data", {"happy": 5, "sad": 5})
    (root / "happy" / "empty.png").write_bytes(b"")
    (root / "sad" / "broken.jpg").write_bytes(b"not really a jpeg")
    (root / "sad" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"3 bad files in .*notes.txt: not an image file"):
        load_dataset(root)
    for attempt in ("fresh", "cached"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = load_dataset(root, on_bad="skip")
        messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
        assert len(messages) == 1, attempt
        assert "skipped 3 bad file(s)" in messages[0]
        for name in ("empty.png: empty file (0 bytes)", "broken.jpg: cannot decode image", "notes.txt: not an image file"):
            assert name in messages[0]
        assert sum(len(s) for s in dataset.splits.values()) == 10


def test_spec_errors(tmp_path):
    with pytest.raises(DataError, match=f"no such file or directory: {tmp_path}/nope"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(DataError, match="no such file or directory: /no/where"):
        load_dataset("fer2013:/no/where")
    with pytest.raises(UsageError, match="empty part"):
        load_dataset("demo++demo")
    with pytest.raises(DataError, match="the fer2013 dataset needs a path"):
        load_dataset("fer2013")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="cannot tell what dataset format"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(UsageError, match="option 'contempt' expects one of keep, drop, got 'maybe'"):
        load_dataset("demo", contempt="maybe")


def test_load_settings_can_come_through_source_options(tmp_path):
    """Commands pass --data-opt KEY=VALUE as options; load settings among them take effect."""
    dataset = load_dataset("demo", options={"classes": "happy,sad", "train": 70, "val": 14, "test": 0})
    assert dataset.classes == ("happy", "sad")
    ck = make_ck_folder(tmp_path / "ck", subjects=16)
    assert "contempt" not in load_dataset(ck, options={"contempt": "drop"}).classes
    raf = make_label_folder(tmp_path / "raf", {"1": 4, "4": 4})
    assert load_dataset(raf, options={"mapping": "1=surprise,4=happy"}).classes == ("happy", "surprise")
    with pytest.raises(UsageError, match="val_fraction must be in"):
        load_dataset("demo", options={"val_fraction": 2})
