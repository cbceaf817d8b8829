"""Random oversampling for fer: minority images repeated (drawn with replacement) until the classes balance."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_core.api import Balanced, Balancer, TrainSet
from fer_core.training.sampling_strategy import resolve_sampling_strategy


class RandomOversampleBalancer(Balancer):
    description = "Random oversampling (imbalanced-learn RandomOverSampler): repeats minority images (sampling_strategy)."
    provides = frozenset({"resampled"})

    def __init__(self, sampling_strategy: Any = "auto") -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.sampling_strategy = sampling_strategy

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        from imblearn.over_sampling import RandomOverSampler

        strategy = resolve_sampling_strategy(self.sampling_strategy, train.classes)
        n = len(train.labels)
        sampler = RandomOverSampler(sampling_strategy=strategy, random_state=seed)
        index, labels = sampler.fit_resample(np.arange(n).reshape(-1, 1), train.labels)
        index = index[:, 0]
        repeated = np.bincount(labels[n:], minlength=len(train.classes))
        report = {
            "method": "oversample",
            "repeated_per_class": {name: int(repeated[i]) for i, name in enumerate(train.classes)},
            "class_counts_before": np.bincount(train.labels, minlength=len(train.classes)).tolist(),
        }
        return Balanced(images=train.images[index], labels=labels.astype(train.labels.dtype), report=report)
