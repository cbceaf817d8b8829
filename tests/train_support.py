"""Tiny datasets and runtime-registered plugins for the training, balancer and evaluation tests."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest
from torch import nn

from fer_core.api import Augmenter, Balanced, Balancer, Dataset, ModelPlugin, Split, TrainSet
from fer_core.training.config import TrainConfig
from tests.fakedist import PluginSandbox, private_registry

if TYPE_CHECKING:
    from fer_core.training.trainer import TrainResult

CLASSES = ("angry", "happy", "sad")
SIZE = 24


def learnable_split(n: int, seed: int, size: int = SIZE) -> Split:
    """Noise plus a bright horizontal band whose position tells the class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    images = rng.integers(0, 70, size=(n, size, size), dtype=np.uint8)
    band = size // len(CLASSES)
    for c in range(len(CLASSES)):
        images[labels == c, c * band : (c + 1) * band, :] += 150
    return Split(images=images, labels=labels.astype(np.int64))


def tiny_dataset(train: int = 90, val: int = 45, test: int = 0) -> Dataset:
    splits = {"train": learnable_split(train, 1), "val": learnable_split(val, 2)}
    if test:
        splits["test"] = learnable_split(test, 3)
    return Dataset(name="tiny", classes=CLASSES, splits=splits, protocol="tiny:synthetic:3cls", synthetic=True)


def tiny_config(**overrides: Any) -> TrainConfig:
    # The CPU, also where torch sees a GPU: the reproducibility tests hold bit for bit only there.
    options: dict[str, Any] = {"model": "mycnn_v1", "epochs": 2, "batch_size": 16, "input_size": SIZE, "threads": 1, "patience": 0}
    options["device"] = "cpu"
    options.update(overrides)
    return TrainConfig(**options)


class LinearProbe(ModelPlugin):
    """No batch norm, no dropout: its predictions change only when its weights do."""

    description = "test: flatten + linear"
    default_input_size = SIZE

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = SIZE) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size * input_size, num_classes))


class _NanAfter(nn.Module):
    def __init__(self, inner: nn.Module, healthy_batches: int) -> None:
        super().__init__()
        self.inner, self.healthy_batches, self.calls = inner, healthy_batches, 0

    def forward(self, x):
        logits = self.inner(x)
        if self.training:
            self.calls += 1
            if self.calls > self.healthy_batches:
                return logits * float("nan")
        return logits


class NanModel(ModelPlugin):
    """Trains normally for ``healthy_batches`` batches, then its logits turn NaN."""

    description = "test: diverges after N training batches"
    default_input_size = SIZE

    def __init__(self, healthy_batches: int = 0) -> None:
        super().__init__(healthy_batches=healthy_batches)
        self.healthy_batches = healthy_batches

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = SIZE) -> nn.Module:
        return _NanAfter(LinearProbe().build(num_classes, in_channels, input_size), self.healthy_batches)


class SpyBalancer(Balancer):
    """Records every TrainSet it is given and changes nothing."""

    description = "test: records what it receives"
    provides = frozenset({"resampled"})
    received: ClassVar[list[TrainSet]] = []

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        SpyBalancer.received.append(train)
        return Balanced(images=train.images, labels=train.labels, report={"method": "spy"})


class OnlyFirstClassSampler(Balancer):
    """Sample weights that draw class 0 only."""

    description = "test: weights only class 0"
    provides = frozenset({"sample_weights"})

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        weights = (train.labels == 0).astype(np.float64)
        return Balanced(images=train.images, labels=train.labels, sample_weights=weights, report={"method": "first-only"})


class SpyAugmenter(Augmenter):
    """Identity augmentation that records each batch it sees."""

    description = "test: records batches"
    seen: ClassVar[list[np.ndarray]] = []

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        SpyAugmenter.seen.append(images.copy())
        return images


@contextmanager
def training_test_plugins() -> Iterator[PluginSandbox]:
    """The shared private registry (``tests.fakedist.private_registry``): the installed plugins plus the test ones.

    Parametrisation (the conformance suite's included) happens before this runs, so no other test sees them.
    """
    with tempfile.TemporaryDirectory(prefix="fer-train-plugins-") as site, private_registry(Path(site)) as sandbox:
        sandbox.add("models", "train_linear_probe", LinearProbe)
        sandbox.add("models", "train_nan_model", NanModel)
        sandbox.add("balancers", "train_spy", SpyBalancer)
        sandbox.add("balancers", "train_first_only", OnlyFirstClassSampler)
        sandbox.add("augmenters", "train_spy_aug", SpyAugmenter)
        yield sandbox


def image_hashes(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def whole_and_resumed(config: TrainConfig, root: Path, cut: tuple[int, int] = (2, 2)) -> tuple[TrainResult, TrainResult, int]:
    """``config`` trained straight through, and again interrupted before batch ``cut[1]`` of epoch ``cut[0]`` then resumed.

    The third value is the epoch the saved state held right after the interruption.
    """
    from fer_core.training.trainer import train

    whole = train(config, tiny_dataset(), root / "whole", quiet=True)

    def interrupt(epoch: int, batch: int) -> None:
        if (epoch, batch) == cut:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, tiny_dataset(), root / "cut", quiet=True, on_batch=interrupt)
    saved_epoch = json.loads((root / "cut" / "state.json").read_text())["progress"]["epoch"]
    resumed = train(config, tiny_dataset(), root / "cut", resume=True, quiet=True)
    return whole, resumed, saved_epoch
