"""What each balancer returns: SMOTE class counts and synthetic images, oversampling, sampler and loss weights."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.api import TrainSet
from fer_core.errors import DataError, UsageError
from fer_core.options import parse_pairs
from fer_core.registry import get_registry
from fer_core.training.sampling_strategy import resolve_sampling_strategy

CLASSES = ("angry", "disgust", "fear")
COUNTS = (40, 6, 30)


def imbalanced(counts=COUNTS, seed: int = 0) -> TrainSet:
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in enumerate(counts)])
    images = np.stack([rng.integers(60 * c, 60 * c + 80, size=(12, 12)) for c in labels]).astype(np.uint8)
    return TrainSet(images=images, labels=labels, classes=CLASSES)


def balancer(name: str, **options):
    return get_registry().create("balancers", name, **options)


def test_smote_balances_counts_keeps_originals_and_interpolates_within_each_class():
    train = imbalanced()
    out = balancer("smote").balance(train, seed=0)
    assert np.bincount(out.labels).tolist() == [40, 40, 40]
    n = len(train.labels)
    assert np.array_equal(out.images[:n], train.images) and np.array_equal(out.labels[:n], train.labels)
    for c in range(3):
        originals, made = train.images[train.labels == c], out.images[n:][out.labels[n:] == c]
        assert np.all(made >= originals.min(axis=0)) and np.all(made <= originals.max(axis=0)), "SMOTE points lie between neighbours"
    assert out.report["synthetic_per_class"] == {"angry": 0, "disgust": 34, "fear": 10}
    assert out.report["synthetic_total"] == 44 and out.report["smote_seconds"] >= 0
    again = balancer("smote").balance(train, seed=0)
    assert np.array_equal(again.images, out.images), "same seed, same synthetic images"


def test_smote_options_strategy_by_class_name_pca_features_and_small_classes():
    train = imbalanced()
    out = balancer("smote", sampling_strategy={"disgust": 20}, k_neighbors=3).balance(train, seed=1)
    assert np.bincount(out.labels).tolist() == [40, 20, 30]
    pca = balancer("smote", features="pca:8").balance(train, seed=1)
    assert np.bincount(pca.labels).tolist() == [40, 40, 40]
    assert pca.images.dtype == np.uint8 and 0 < pca.report["pca_explained_variance"] <= 1
    tiny = balancer("smote", k_neighbors=5).balance(imbalanced(counts=(10, 3, 8)), seed=0)
    assert np.bincount(tiny.labels).tolist() == [10, 10, 10] and tiny.report["k_neighbors"] == 2


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"features": "tsne:2"}, UsageError, "features must be"),
        ({"k_neighbors": 0}, UsageError, "k_neighbors must be"),
        ({"sampling_strategy": "most"}, UsageError, "sampling_strategy must be one of"),
        ({"sampling_strategy": {"contempt": 5}}, UsageError, "unknown class 'contempt'"),
    ],
)
def test_smote_bad_options(options, error, message):
    with pytest.raises(error, match=message):
        balancer("smote", **options).balance(imbalanced(), seed=0)


def test_smote_refuses_a_class_with_one_image():
    with pytest.raises(DataError, match="at least 2 training images"):
        balancer("smote").balance(imbalanced(counts=(10, 1, 8)), seed=0)


def test_oversample_repeats_real_images_until_balanced():
    train = imbalanced()
    out = balancer("oversample").balance(train, seed=0)
    assert np.bincount(out.labels).tolist() == [40, 40, 40]
    originals = {(image.tobytes(), int(label)) for image, label in zip(train.images, train.labels, strict=True)}
    assert all((image.tobytes(), int(label)) in originals for image, label in zip(out.images, out.labels, strict=True))
    assert out.report["repeated_per_class"] == {"angry": 0, "disgust": 34, "fear": 10}


def test_weighted_sampler_gives_every_class_the_same_total_weight():
    train = imbalanced()
    out = balancer("weighted").balance(train, seed=0)
    assert out.class_weights is None and out.sample_weights.sum() == pytest.approx(1.0)
    per_class = [out.sample_weights[train.labels == c].sum() for c in range(3)]
    assert per_class == pytest.approx([1 / 3] * 3)
    assert out.sample_weights[train.labels == 1][0] / out.sample_weights[train.labels == 0][0] == pytest.approx(40 / 6)


def test_weighted_loss_mode_returns_inverse_frequency_class_weights():
    out = balancer("weighted", mode="loss").balance(imbalanced(), seed=0)
    assert out.sample_weights is None
    assert out.class_weights == pytest.approx(76 / (3 * np.array(COUNTS)), rel=1e-4)


def test_cli_balancer_options_reach_smote_typed_by_its_signature():
    raw = parse_pairs(['sampling_strategy={"disgust": 20}', "k_neighbors=3", "features=pca:8"], "--balancer-opt")
    options = balancer("smote", **raw).options
    assert options == {"sampling_strategy": {"disgust": 20}, "k_neighbors": 3, "features": "pca:8"}
    assert resolve_sampling_strategy(options["sampling_strategy"], CLASSES) == {1: 20}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("weighted", {"mode": "bogus"}, "balancer 'weighted': option 'mode' expects one of sampler, loss, got 'bogus'"),
        ("weighted", {"power": "abc"}, "balancer 'weighted': option 'power' expects a finite number, got 'abc'"),
        ("smote", {"k": "3"}, "balancer 'smote': unknown option 'k'; valid: k_neighbors, sampling_strategy, features"),
        (
            "smote",
            {"k_neighbours": "3"},
            (
                "balancer 'smote': unknown option 'k_neighbours'; valid: k_neighbors, sampling_strategy, features"
                " (did you mean 'k_neighbors'?)"
            ),
        ),
        ("smote", {"k_neighbors": "three"}, "balancer 'smote': option 'k_neighbors' expects an integer, got 'three'"),
        ("none", {"seed": "1"}, "balancer 'none': unknown option 'seed'; it takes no options"),
    ],
)
def test_balancer_option_mistakes_are_one_line(name, options, message):
    with pytest.raises(UsageError) as info:
        balancer(name, **options)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
