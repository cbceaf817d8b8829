import time

import cv2
import numpy as np

from fer_core.data.demo import DemoSource, class_counts
from fer_core.data.labels import CANONICAL
from fer_core.data.loading import load_dataset
from fer_core.registry import get_registry


def test_demo_is_registered_synthetic_and_seven_canonical_classes():
    dataset = get_registry().create("datasets", "demo", train=70, val=14, test=14).load(None)
    assert dataset.synthetic is True
    assert dataset.protocol == "demo:synthetic:7cls"
    assert dataset.classes == CANONICAL
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 70, "val": 14, "test": 14}
    image = dataset.splits["train"].images
    assert image.dtype == np.uint8 and image.shape[1:] == (48, 48)


def test_demo_is_deterministic_per_seed_and_splits_differ():
    a = DemoSource(train=50, val=20, test=0).load(None)
    b = DemoSource(train=50, val=20, test=0).load(None)
    c = DemoSource(train=50, val=20, test=0, seed=1).load(None)
    assert np.array_equal(a.splits["train"].images, b.splits["train"].images)
    assert np.array_equal(a.splits["train"].labels, b.splits["train"].labels)
    assert not np.array_equal(a.splits["train"].images, c.splits["train"].images)
    assert "test" not in a.splits
    # val does not depend on the size of train
    longer = DemoSource(train=80, val=20, test=0).load(None)
    assert np.array_equal(a.splits["val"].images, longer.splits["val"].images)


def test_default_sizes_are_mildly_imbalanced_with_few_disgust():
    dataset = load_dataset("demo")
    counts = np.bincount(dataset.splits["train"].labels, minlength=7)
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 2100, "val": 350, "test": 350}
    assert counts.sum() == 2100
    assert counts.argmin() == CANONICAL.index("disgust")
    assert counts.argmax() == CANONICAL.index("happy")
    assert counts.max() / counts.min() > 4
    assert np.array_equal(class_counts(2100), counts)


def test_default_demo_generates_fast():
    start = time.perf_counter()
    DemoSource().load(None)
    # the target is under a second; the margin covers busy shared CI cores
    assert time.perf_counter() - start < 3.0


def test_demo_is_learnable_but_not_trivial():
    """A linear probe on 16x16 pixels beats the majority class clearly but is far from perfect."""
    from sklearn.linear_model import LogisticRegression

    data = DemoSource(train=1000, val=0, test=350).load(None)

    def features(images):
        small = np.stack([cv2.resize(i, (16, 16), interpolation=cv2.INTER_AREA) for i in images]).reshape(len(images), -1)
        small = small.astype(np.float32) / 255
        return (small - small.mean(1, keepdims=True)) / (small.std(1, keepdims=True) + 1e-3)

    train, test = data.splits["train"], data.splits["test"]
    probe = LogisticRegression(max_iter=300, C=0.05).fit(features(train.images), train.labels)
    accuracy = float((probe.predict(features(test.images)) == test.labels).mean())
    majority = np.bincount(test.labels).max() / len(test)
    assert accuracy > majority + 0.15
    assert accuracy < 0.9
