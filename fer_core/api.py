"""The contracts every fer plugin implements.

A plugin is a class published under one of the entry-point groups in
``fer_core.registry.GROUPS``. The registry instantiates it with the user's
options (``fer train --model resnet18 --model-opt stem=cifar``) and calls the
one method of its kind. These classes must stay small and stable: third
parties implement them. ``API_VERSION`` changes only when a signature breaks.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from fer_core.plugin_calls import guarded

if TYPE_CHECKING:
    from torch import nn

    from fer_core.options import OptionSpec

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
    """Common base: plugins take keyword options and describe themselves.

    **Options.** A plugin declares the options it takes in one of two ways:

    * annotated keyword parameters of its ``__init__`` (the usual way)::

          def __init__(self, width: int = 32, mode: Literal["a", "b"] = "a") -> None:
              super().__init__(width=width, mode=mode)   # recorded as ``self.options``

    * ``options_schema = {"k": OptionSpec("k", int, 5, "neighbours")}`` (or ``{"k": int}``: optional, the plugin's own default applies)
      when its ``__init__`` takes ``**options``.

    A plugin that declares neither (it keeps this ``__init__``) takes no options. Whenever a plugin is created
    (``Registry.create``, so ``--model-opt`` and friends, checkpoints and notebooks alike, or by calling the class:
    a subclass's ``__init__`` is wrapped to check its keyword options first), every option is checked against
    that declaration and typed by its annotation
    (``fer_core.options``: text from the command line becomes ``int``, ``bool``, a ``Literal`` choice, a JSON
    list...). An unknown or malformed option is one ``UsageError`` line naming the plugin, the option, the valid
    ones and the closest match. Checks that annotations cannot express (a width that must be even) raise
    ``fer_core.errors.UsageError`` from ``__init__``.
    """

    api_version: ClassVar[int] = API_VERSION
    description: ClassVar[str] = ""
    options_schema: ClassVar[Mapping[str, Any] | None] = None
    open_options: ClassVar[bool] = False
    """True: a plugin that keeps this ``__init__`` takes any option unchecked (a transition for sources that read
    ``self.options`` themselves; declare ``options_schema`` instead)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if callable(init) and not getattr(init, "__fer_checked__", False):
            cls.__init__ = _checked_init(init)  # type: ignore[method-assign]

    def __init__(self, **options: Any) -> None:
        if type(self)._declaration()[0] != "init":  # the caller's options came straight here: check them
            options = type(self).bind_options(options)
        self.options = options

    @classmethod
    def bind_options(cls, options: Mapping[str, Any], *, owner: str | None = None) -> dict[str, Any]:
        """``options`` checked against what this plugin declares and typed by it; one-line ``UsageError`` otherwise."""
        from fer_core.options import bind_options

        how, target = cls._declaration()
        if how == "open":
            return dict(options)
        return bind_options(target, options, owner=owner or cls.__name__)

    @classmethod
    def option_specs(cls) -> list[OptionSpec]:
        """The options this plugin declares (name, annotation, default, help); empty if it takes none or any."""
        from fer_core.options import option_specs

        how, target = cls._declaration()
        return [] if how == "open" else option_specs(target)

    @classmethod
    def _declaration(cls) -> tuple[str, Any]:
        """("init", the __init__ that declares them) | ("schema", a holder of options_schema) | ("open", None).

        The nearest class in the MRO that defines ``options_schema`` or ``__init__`` decides.
        """
        for klass in cls.__mro__:
            schema = klass.__dict__.get("options_schema")
            if schema is not None:
                return "schema", _Schema(schema)
            init = klass.__dict__.get("__init__")
            if init is not None:
                if klass is Plugin:
                    return ("open", None) if cls.open_options else ("schema", _Schema({}))
                return "init", getattr(init, "__wrapped__", init)
        return "open", None


def _checked_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` with its keyword options checked and typed against its own signature first."""

    @functools.wraps(init)
    def checked_init(self: Plugin, *args: Any, **options: Any) -> None:
        if options:
            from fer_core.options import bind_options

            options = bind_options(init, options, owner=type(self).__name__)
        init(self, *args, **options)

    checked_init.__fer_checked__ = True  # type: ignore[attr-defined]
    return checked_init


class _Schema:
    """What ``fer_core.options.bind_options`` reads a declared schema from."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.options_schema = dict(schema)


class _OptionalHook:
    """An optional method declared on a base class: absent (``AttributeError``, ``hasattr`` is False) unless a
    subclass defines it. The docstring states its contract."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        owner = objtype or type(obj)
        raise AttributeError(f"{owner.__name__} does not implement the optional hook {self.name}")


def _guard_build(build: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(build)
    def guarded_build(self: ModelPlugin, *args: Any, **kwargs: Any) -> Any:
        with guarded(f"model plugin {type(self).__module__}:{type(self).__qualname__}: build()"):
            return build(self, *args, **kwargs)

    guarded_build.__fer_guarded__ = True  # type: ignore[attr-defined]
    return guarded_build


class ModelPlugin(Plugin, ABC):
    """Builds a classifier ``nn.Module`` mapping (B, C, H, W) float input to (B, num_classes) logits.

    ``default_input_size``: the face size it is built for when the user gives none.
    ``supports_pretrained``: it takes a ``pretrained`` option (``imagenet`` or a local safetensors path).
    ``is_meta``: it is made of other registered models (``ensemble``); ``--models all`` leaves it out.
    ``build`` runs guarded: a ``sys.exit()`` or stray ``KeyboardInterrupt`` inside it is one error line.
    """

    default_input_size: ClassVar[int] = 48
    supports_pretrained: ClassVar[bool] = False
    is_meta: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if callable(build) and not getattr(build, "__isabstractmethod__", False) and not getattr(build, "__fer_guarded__", False):
            cls.build = _guard_build(build)  # type: ignore[method-assign]

    @abstractmethod
    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module: ...


class Balancer(Plugin, ABC):
    """Turns the training split into what the trainer consumes; must only ever see training data.

    ``balance(train, *, seed)`` gets a ``TrainSet`` (``images`` uint8 (N, H, W[, C]), ``labels`` int64 (N,),
    ``classes``) and returns a ``Balanced`` (``images``, ``labels``, ``sample_weights`` or None,
    ``class_weights`` or None, ``report``). ``seed`` is keyword-only; the same seed gives the same output.
    ``provides`` says which of ``Balanced``'s outputs it fills: ``"resampled"`` (images/labels changed),
    ``"sample_weights"`` (per-sample draw weights for a weighted sampler), ``"class_weights"`` (per-class loss
    weights); an instance may narrow it to what its options chose. It must not modify its input.
    """

    provides: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced: ...


class Augmenter(Plugin, ABC):
    """Augments a batch of uint8 images (N, H, W[, C]); returns uint8 of the same shape.

    An augmenter that can also work on a batch already on the training device (a GPU) defines
    ``augment_tensor``; ``supports_tensor`` is then True (set automatically), and the trainer calls it instead
    of ``__call__`` so no CPU worker feeds the device.
    """

    supports_tensor: ClassVar[bool] = False
    augment_tensor = _OptionalHook(
        """augment_tensor(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor

        Float (N, C, H, W) images in 0..255 on any device -> augmented images of the same shape, range and
        device; randomness only from ``generator`` (on ``x``'s device). Optional: absent unless defined."""
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if callable(cls.__dict__.get("augment_tensor")) and "supports_tensor" not in cls.__dict__:
            cls.supports_tensor = True

    @abstractmethod
    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


class DatasetSource(Plugin, ABC):
    """Reads one on-disk format (or generates data) into a ``Dataset``.

    ``detect_priority``: when several sources say ``can_load(path)``, the highest wins (ties: by name).
    ``short_name``: a short prefix for merged datasets' protocols (``fer+ck:merged:8cls``); empty: the protocol's.
    """

    detect_priority: ClassVar[int] = 0
    short_name: ClassVar[str] = ""
    open_options: ClassVar[bool] = True  # until each source declares its options (an __init__ or options_schema)

    @abstractmethod
    def can_load(self, path: Path) -> bool: ...

    @abstractmethod
    def load(self, path: Path | None) -> Dataset: ...


Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A face in image pixels: top-left corner, width, height.

    ``score`` is the detector's confidence in [0, 1], or None for a detector that has none (OpenCV's Haar cascade);
    plugins written for API 1 that leave it out still get 1.0. ``landmarks``, when the detector finds them, are five
    (x, y) points in image pixels, in the order MTCNN and RetinaFace use: the eye on the image's left, the other eye,
    the nose tip, the mouth corner on the image's left, the other mouth corner. None when the detector gives none.
    """

    x: int
    y: int
    w: int
    h: int
    score: float | None = 1.0
    landmarks: tuple[Point, ...] | None = None


class Detector(Plugin, ABC):
    """Finds faces in an image (H, W) gray or (H, W, 3) BGR uint8.

    ``priority`` ranks installed detectors: the healthy detector with the highest priority is the default of
    `fer predict` and ``Predictor`` (fer-mtcnn's declares 10, the built-in Haar cascade 1, a plugin that says nothing 0).
    """

    priority: ClassVar[int] = 0

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Box]: ...
