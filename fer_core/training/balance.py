"""Run a balancer plugin on the training split, and only on it, and check what it returns."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from fer_core.api import Balanced, TrainSet
from fer_core.errors import FerError


class BalancerOutputError(FerError):
    pass


def balance_training_split(
    name: str, options: dict[str, Any], images: np.ndarray, labels: np.ndarray, classes: Sequence[str], *, seed: int
) -> Balanced:
    """The balancer sees a ``TrainSet`` built from the training arrays alone: validation and test never reach it."""
    from fer_core.registry import get_registry

    balancer = get_registry().create("balancers", name, **options)
    train = TrainSet(images=images, labels=labels, classes=tuple(classes))
    started = time.perf_counter()
    out = balancer.balance(train, seed=seed)
    seconds = time.perf_counter() - started
    _check(name, out, images, len(classes))
    out.report = {"balancer": name, "options": dict(options), "seconds": round(seconds, 3), **out.report}
    out.report.setdefault("samples_before", len(labels))
    out.report.setdefault("samples_after", len(out.labels))
    return out


def _check(name: str, out: Balanced, images: np.ndarray, num_classes: int) -> None:
    def fail(why: str) -> None:
        raise BalancerOutputError(f"balancer '{name}' returned invalid output: {why}")

    if not isinstance(out, Balanced):
        fail(f"expected fer_core.api.Balanced, got {type(out).__name__}")
    if out.images.dtype != np.uint8 or out.images.shape[1:] != images.shape[1:]:
        fail(f"images must be uint8 of shape (N, {', '.join(map(str, images.shape[1:]))}), got {out.images.dtype} {out.images.shape}")
    if out.labels.ndim != 1 or len(out.labels) != len(out.images) or len(out.labels) < 2:
        fail(f"{len(out.labels)} labels for {len(out.images)} images")
    if out.labels.min() < 0 or out.labels.max() >= num_classes:
        fail(f"labels outside 0..{num_classes - 1}")
    if out.sample_weights is not None:
        w = np.asarray(out.sample_weights, dtype=np.float64)
        if w.shape != out.labels.shape or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            fail("sample_weights must be finite, non-negative, one per sample and not all zero")
    if out.class_weights is not None:
        cw = np.asarray(out.class_weights, dtype=np.float64)
        if cw.shape != (num_classes,) or not np.isfinite(cw).all() or (cw < 0).any():
            fail(f"class_weights must be {num_classes} finite non-negative numbers")
