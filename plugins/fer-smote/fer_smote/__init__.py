"""SMOTE for fer: synthetic minority images interpolated between nearest neighbours of the same class.

Runs on the flattened training pixels (``features="pixels"``) or in a PCA space (``features="pca:128"``),
whose synthetic points are mapped back to pixels with the inverse transform. Originals are kept exactly;
only the new images pass through the feature space. fer hands it the training split only.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fer_core.api import Balanced, Balancer, TrainSet
from fer_core.errors import DataError, UsageError
from fer_core.training.sampling_strategy import resolve_sampling_strategy


def parse_features(features: str) -> int | None:
    """``pixels`` -> None, ``pca:N`` -> N."""
    if features == "pixels":
        return None
    kind, _, size = features.partition(":")
    if kind == "pca" and size.isdigit() and int(size) > 0:
        return int(size)
    raise UsageError(f"features must be 'pixels' or 'pca:<components>', got '{features}'")


class SmoteBalancer(Balancer):
    description = "SMOTE (imbalanced-learn) on training pixels or a PCA space (k_neighbors, sampling_strategy, features=pixels|pca:N)."
    provides = frozenset({"resampled"})

    def __init__(self, k_neighbors: int = 5, sampling_strategy: Any = "auto", features: str = "pixels") -> None:
        super().__init__(k_neighbors=k_neighbors, sampling_strategy=sampling_strategy, features=features)
        if not isinstance(k_neighbors, int) or k_neighbors < 1:
            raise UsageError(f"k_neighbors must be a positive integer, got {k_neighbors!r}")
        self.k_neighbors = k_neighbors
        self.sampling_strategy = sampling_strategy
        self.features = features
        self.components = parse_features(features)

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        from imblearn.over_sampling import SMOTE

        started = time.perf_counter()
        strategy = resolve_sampling_strategy(self.sampling_strategy, train.classes)
        n, shape = len(train.labels), train.images.shape[1:]
        counts = np.bincount(train.labels, minlength=len(train.classes))
        k = self._neighbours_for(counts)
        flat = train.images.reshape(n, -1).astype(np.float32)
        projection = None
        if self.components is not None:
            from sklearn.decomposition import PCA

            projection = PCA(n_components=min(self.components, n, flat.shape[1]), svd_solver="randomized", random_state=seed)
            flat = projection.fit_transform(flat).astype(np.float32)
        try:
            resampled, labels = SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed).fit_resample(flat, train.labels)
        except ValueError as exc:
            raise UsageError(f"SMOTE cannot balance this training split: {str(exc).splitlines()[0]}") from None
        synthetic = resampled[n:]
        del flat
        if projection is not None:
            synthetic = projection.inverse_transform(synthetic)
        new_images = np.clip(np.rint(synthetic), 0, 255).astype(np.uint8).reshape(-1, *shape)
        images = np.concatenate([train.images, new_images]) if len(new_images) else train.images.copy()
        made = np.bincount(labels[n:], minlength=len(train.classes))
        report = {
            "method": "smote",
            "features": self.features,
            "k_neighbors": k,
            "synthetic_per_class": {name: int(made[i]) for i, name in enumerate(train.classes)},
            "synthetic_total": int(made.sum()),
            "class_counts_before": counts.tolist(),
            "smote_seconds": round(time.perf_counter() - started, 3),
        }
        if projection is not None:
            report["pca_explained_variance"] = round(float(projection.explained_variance_ratio_.sum()), 4)
        return Balanced(images=images, labels=labels.astype(train.labels.dtype), report=report)

    def _neighbours_for(self, counts: np.ndarray) -> int:
        """k, lowered to fit the smallest present class (SMOTE needs k + 1 samples of a class)."""
        present = counts[counts > 0]
        if len(present) and present.min() < 2:
            raise DataError("SMOTE needs at least 2 training images of every class present; one class has a single image")
        return int(min(self.k_neighbors, present.min() - 1)) if len(present) else self.k_neighbors
