"""The contracts every fer plugin implements.

A plugin is a class published under one of the entry-point groups in
``fer_core.registry.GROUPS``. The registry instantiates it with the user's
options (``fer train --model resnet18 --model-opt stem=cifar``) and calls the
one method of its kind. These classes must stay small and stable: third
parties implement them. ``API_VERSION`` changes only when a signature breaks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:
    from torch import nn

API_VERSION = 1

Provides = Literal["resampled", "sample_weights", "class_weights"]


@dataclass(frozen=True)
class Split:
    """One split of a dataset, held in memory as compact arrays.

    ``images`` is uint8, shape (N, H, W) for grayscale or (N, H, W, C).
    ``groups`` identifies the subject of each image where the source knows it
    (CK+), so that splits and folds never put one subject on both sides.
    ``ids`` names each image (file name or CSV row) for reports and de-duplication.
    """

    images: np.ndarray
    labels: np.ndarray
    groups: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset with named splits (``train``, ``val``, ``test``).

    ``protocol`` states how numbers on it must be read, e.g.
    ``fer2013:train->publictest:7cls``. ``synthetic`` is true for generated data,
    and every report made on it says so.
    """

    name: str
    classes: tuple[str, ...]
    splits: dict[str, Split]
    protocol: str
    synthetic: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int]:
        first = next(iter(self.splits.values()))
        return int(first.images.shape[1]), int(first.images.shape[2])

    @property
    def channels(self) -> int:
        first = next(iter(self.splits.values()))
        return 1 if first.images.ndim == 3 else int(first.images.shape[3])


@dataclass(frozen=True)
class TrainSet:
    """What a balancer receives: the training split only, never validation or test."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]


@dataclass
class Balanced:
    """What the trainer consumes from a balancer.

    ``images``/``labels``: the (possibly resampled) training arrays.
    ``sample_weights``: per-sample draw weights for a weighted random sampler, or None.
    ``class_weights``: per-class loss weights, or None.
    ``report``: what the balancer did (synthetic samples per class, seconds), for the run's records.
    """

    images: np.ndarray
    labels: np.ndarray
    sample_weights: np.ndarray | None = None
    class_weights: np.ndarray | None = None
    report: dict[str, Any] = field(default_factory=dict)


class Plugin:
    """Common base: plugins take keyword options and describe themselves."""

    api_version: ClassVar[int] = API_VERSION
    description: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options


class ModelPlugin(Plugin, ABC):
    """Builds a classifier ``nn.Module`` mapping (B, C, H, W) float input to (B, num_classes) logits."""

    default_input_size: ClassVar[int] = 48
    supports_pretrained: ClassVar[bool] = False

    @abstractmethod
    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module: ...


class Balancer(Plugin, ABC):
    """Turns the training split into what the trainer consumes; must only ever see training data."""

    provides: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced: ...


class Augmenter(Plugin, ABC):
    """Augments a batch of uint8 images (N, H, W[, C]); returns uint8 of the same shape."""

    @abstractmethod
    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


class DatasetSource(Plugin, ABC):
    """Reads one on-disk format (or generates data) into a ``Dataset``."""

    @abstractmethod
    def can_load(self, path: Path) -> bool: ...

    @abstractmethod
    def load(self, path: Path | None) -> Dataset: ...


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int
    score: float = 1.0


class Detector(Plugin, ABC):
    """Finds faces in an image (H, W) gray or (H, W, 3) BGR uint8."""

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Box]: ...
