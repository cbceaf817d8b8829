"""The built-in baseline balancer; the others ship as plugin distributions."""

from __future__ import annotations

from fer_core.api import Balanced, Balancer, TrainSet


class NoBalancer(Balancer):
    description = "Baseline: train on the data as it is."
    provides = frozenset({"resampled"})

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        return Balanced(images=train.images, labels=train.labels, report={"method": "none"})
