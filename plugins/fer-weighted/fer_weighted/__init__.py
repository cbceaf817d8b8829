"""Counter class imbalance without changing the data: a weighted sampler or a class-weighted loss."""

from __future__ import annotations

from typing import Literal

import numpy as np

from fer_core.api import Balanced, Balancer, TrainSet
from fer_core.errors import UsageError


class WeightedBalancer(Balancer):
    description = "Inverse-frequency WeightedRandomSampler (mode=sampler) or class-weighted loss (mode=loss)."
    provides = frozenset({"sample_weights", "class_weights"})

    def __init__(self, mode: Literal["sampler", "loss"] = "sampler", power: float = 1.0) -> None:
        if power < 0:
            raise UsageError(f"weighted: power must be >= 0 (0 disables the weighting), got {power}")
        super().__init__(mode=mode, power=power)
        self.mode, self.power = mode, float(power)
        self.provides = frozenset({"sample_weights" if mode == "sampler" else "class_weights"})

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        counts = np.bincount(train.labels, minlength=len(train.classes)).astype(np.float64)
        present = counts > 0
        class_weights = np.zeros_like(counts)
        class_weights[present] = (counts[present].sum() / (present.sum() * counts[present])) ** self.power
        report = {
            "method": f"weighted-{self.mode}",
            "class_counts": counts.astype(int).tolist(),
            "class_weights": class_weights.round(4).tolist(),
        }
        if self.mode == "loss":
            return Balanced(train.images, train.labels, class_weights=class_weights.astype(np.float32), report=report)
        sample_weights = class_weights[train.labels]
        return Balanced(train.images, train.labels, sample_weights=sample_weights / sample_weights.sum(), report=report)
