"""Contract checks for model and balancer plugins (see ``fer_core.testing``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.api import API_VERSION, Balanced, Balancer, ModelPlugin, Plugin, TrainSet
from fer_core.errors import UsageError

Check = Callable[[Any], None]
TINY_BATCH = 2


def _build(plugin_cls: type[ModelPlugin], num_classes: int, in_channels: int, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    plugin = plugin_cls()
    size = plugin.default_input_size
    return plugin.build(num_classes=num_classes, in_channels=in_channels, input_size=size).eval(), size


def check_model_declares_itself(plugin_cls: type[ModelPlugin]) -> None:
    assert issubclass(plugin_cls, ModelPlugin), f"{plugin_cls} must subclass fer_core.api.ModelPlugin"
    assert plugin_cls.api_version == API_VERSION
    assert isinstance(plugin_cls.description, str) and plugin_cls.description.strip(), "describe the model in one line"
    assert isinstance(plugin_cls.default_input_size, int) and plugin_cls.default_input_size >= 32


def check_model_logits_shape(plugin_cls: type[ModelPlugin]) -> None:
    import torch

    for in_channels in (1, 3):
        for num_classes in (7, 8):
            model, size = _build(plugin_cls, num_classes, in_channels)
            with torch.no_grad():
                logits = model(torch.randn(TINY_BATCH, in_channels, size, size))
            assert tuple(logits.shape) == (TINY_BATCH, num_classes), (
                f"{in_channels}-channel input, {num_classes} classes: logits shape {tuple(logits.shape)}"
            )
            assert torch.isfinite(logits).all(), "logits must be finite"


def check_model_accepts_48(plugin_cls: type[ModelPlugin]) -> None:
    import torch

    torch.manual_seed(0)
    model = plugin_cls().build(num_classes=7, in_channels=1, input_size=48).eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 1, 48, 48)).shape) == (1, 7)


def check_model_deterministic_under_seed(plugin_cls: type[ModelPlugin]) -> None:
    import torch

    first, size = _build(plugin_cls, 7, 1, seed=123)
    second, _ = _build(plugin_cls, 7, 1, seed=123)
    x = torch.randn(TINY_BATCH, 1, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(first(x), second(x)), "same seed must give the same initial weights and outputs"


def check_model_trains_one_step(plugin_cls: type[ModelPlugin]) -> None:
    import torch

    model, size = _build(plugin_cls, 7, 1)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable, "the model has no trainable parameters"
    x = torch.randn(4, 1, size, size)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert any(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable), "no finite gradient reached the weights"


def check_model_weights_round_trip(plugin_cls: type[ModelPlugin]) -> None:
    import torch
    from safetensors.torch import load_model, save_model

    model, size = _build(plugin_cls, 7, 1, seed=1)
    other, _ = _build(plugin_cls, 7, 1, seed=2)
    x = torch.randn(TINY_BATCH, 1, size, size)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "weights.safetensors")
        save_model(model, path)
        load_model(other, path, strict=True)
    with torch.no_grad():
        assert torch.equal(model(x), other(x)), "weights saved as safetensors must load back to the same outputs"


def _toy_trainset(seed: int = 0) -> TrainSet:
    rng = np.random.default_rng(seed)
    counts = [40, 6, 30, 80, 25, 15, 50]
    labels = np.concatenate([np.full(c, i, dtype=np.int64) for i, c in enumerate(counts)])
    images = rng.integers(0, 256, size=(len(labels), 48, 48), dtype=np.uint8)
    classes = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    return TrainSet(images=images, labels=labels, classes=classes)


def _balance(balancer_cls: type[Balancer], seed: int = 0) -> tuple[Balancer, TrainSet, Balanced]:
    balancer = balancer_cls()
    train = _toy_trainset()
    return balancer, train, balancer.balance(train, seed=seed)


def check_balancer_declares_itself(balancer_cls: type[Balancer]) -> None:
    assert issubclass(balancer_cls, Balancer), f"{balancer_cls} must subclass fer_core.api.Balancer"
    assert balancer_cls.api_version == API_VERSION
    assert isinstance(balancer_cls.description, str) and balancer_cls.description.strip()
    assert set(balancer_cls().provides) <= {"resampled", "sample_weights", "class_weights"}


def check_balancer_output_valid(balancer_cls: type[Balancer]) -> None:
    balancer, train, out = _balance(balancer_cls)
    assert isinstance(out, Balanced)
    assert out.images.dtype == np.uint8 and out.images.shape[1:] == train.images.shape[1:], "images keep dtype and shape"
    assert out.labels.ndim == 1 and len(out.labels) == len(out.images)
    assert out.labels.min() >= 0 and out.labels.max() < len(train.classes), "labels stay within the class set"
    assert set(np.unique(out.labels)) >= set(np.unique(train.labels)), "no class may disappear"
    provides = set(balancer.provides)
    if "sample_weights" in provides:
        w = out.sample_weights
        assert w is not None and w.shape == (len(out.labels),) and np.all(w >= 0) and np.isfinite(w).all() and w.sum() > 0
    else:
        assert out.sample_weights is None, "sample_weights returned but not declared in `provides`"
    if "class_weights" in provides:
        cw = out.class_weights
        assert cw is not None and cw.shape == (len(train.classes),) and np.all(cw >= 0) and np.isfinite(cw).all()
    else:
        assert out.class_weights is None, "class_weights returned but not declared in `provides`"
    if "resampled" not in provides:
        assert np.array_equal(out.labels, train.labels), "labels changed but `resampled` is not declared"
    assert isinstance(out.report, dict)


def check_balancer_deterministic(balancer_cls: type[Balancer]) -> None:
    _, _, first = _balance(balancer_cls, seed=7)
    _, _, second = _balance(balancer_cls, seed=7)
    assert np.array_equal(first.labels, second.labels) and np.array_equal(first.images, second.images), "same seed, same output"


def check_balancer_does_not_mutate_input(balancer_cls: type[Balancer]) -> None:
    train = _toy_trainset()
    before_images, before_labels = train.images.copy(), train.labels.copy()
    balancer_cls().balance(train, seed=0)
    assert np.array_equal(train.images, before_images) and np.array_equal(train.labels, before_labels)


UNKNOWN_OPTION = "fer_conformance_no_such_option"


def check_refuses_unknown_option(plugin_cls: type[Plugin]) -> None:
    """An option the plugin does not declare is one ``UsageError`` line naming it, not silently accepted."""
    try:
        plugin_cls(**{UNKNOWN_OPTION: "1"})
    except UsageError as exc:
        message = str(exc)
        assert UNKNOWN_OPTION in message and "\n" not in message, f"the error must be one line naming the option: {message!r}"
        return
    except TypeError as exc:
        raise AssertionError(f"an unknown option must be a fer_core.errors.UsageError, not TypeError: {exc}") from None
    raise AssertionError("an unknown option was accepted silently: declare the options in __init__'s signature or in options_schema")


MODEL_CHECKS: list[Check] = [
    check_model_declares_itself,
    check_model_logits_shape,
    check_model_accepts_48,
    check_model_deterministic_under_seed,
    check_model_trains_one_step,
    check_model_weights_round_trip,
    check_refuses_unknown_option,
]
BALANCER_CHECKS: list[Check] = [
    check_balancer_declares_itself,
    check_balancer_output_valid,
    check_balancer_deterministic,
    check_balancer_does_not_mutate_input,
    check_refuses_unknown_option,
]


def _registered(kind: str) -> list[tuple[str, Any]]:
    from fer_core.registry import get_registry

    registry = get_registry()
    return [(e.name, e.obj) for e in registry.load_all(kind) if e.status == "ok" and not e.is_namespace]


def parametrize_with_checks(models: Iterable[Any] | None = None, balancers: Iterable[Any] | None = None):
    """A ``pytest.mark.parametrize`` over (plugin, check) pairs.

    Pass plugin classes to check just those; pass nothing to check every registered model and balancer.
    """
    import pytest

    if models is None and balancers is None:
        model_items, balancer_items = _registered("models"), _registered("balancers")
    else:
        model_items = [(cls.__name__, cls) for cls in models or []]
        balancer_items = [(cls.__name__, cls) for cls in balancers or []]
    params = [pytest.param(cls, check, id=f"{name}-{check.__name__}") for name, cls in model_items for check in MODEL_CHECKS]
    params += [pytest.param(cls, check, id=f"{name}-{check.__name__}") for name, cls in balancer_items for check in BALANCER_CHECKS]
    return pytest.mark.parametrize(("plugin", "check"), params)
