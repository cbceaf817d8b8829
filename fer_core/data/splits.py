"""Honest splits: stratified by label, grouped by subject when the source knows subjects.

Grouped splits never put one subject on both sides (CK+ has three near-identical
frames per sequence and several sequences per subject).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fer_core.api import Dataset, Split
from fer_core.errors import DataError


def subset(split: Split, index: np.ndarray) -> Split:
    return Split(
        images=split.images[index],
        labels=split.labels[index],
        groups=None if split.groups is None else split.groups[index],
        ids=None if split.ids is None else split.ids[index],
    )


def concat(splits: list[Split]) -> Split:
    """Concatenate splits; groups and ids survive only if every part has them."""
    if len(splits) == 1:
        return splits[0]
    has_groups = all(s.groups is not None for s in splits)
    has_ids = all(s.ids is not None for s in splits)
    return Split(
        images=np.concatenate([s.images for s in splits]),
        labels=np.concatenate([s.labels for s in splits]),
        groups=np.concatenate([s.groups for s in splits]) if has_groups else None,
        ids=np.concatenate([s.ids for s in splits]) if has_ids else None,
    )


def holdout_indices(
    labels: np.ndarray, fraction: float, seed: int = 0, groups: np.ndarray | None = None, *, name: str = "split fraction"
) -> tuple[np.ndarray, np.ndarray]:
    """(keep, holdout) indices with about ``fraction`` held out, stratified, grouped when ``groups`` is given.

    Neither part is ever empty: a fraction that would leave one so is a ``DataError`` naming ``name``.
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"{name} must be between 0 and 1, got {fraction}")
    n = len(labels)
    if n < 2:
        raise DataError(f"cannot split {n} image(s) into two parts")
    held = math.ceil(fraction * n - 1e-9)  # as scikit-learn rounds a test_size
    if groups is None and not 1 <= held <= n - 1:
        side = "nothing is held out" if held < 1 else "no image is left to train on"
        raise DataError(f"{name} {fraction:g} of {n} images leaves an empty split ({side}); choose a fraction nearer 0.1")
    if groups is not None:
        return _grouped_holdout(labels, groups, fraction, seed)
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    try:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        keep, held = next(splitter.split(np.zeros(n), labels))
    except ValueError:  # a class too small to stratify: fall back to a plain shuffle
        keep, held = next(ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed).split(np.zeros(n)))
    return np.sort(keep), np.sort(held)


def _grouped_holdout(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(groups))
    folds = min(n_groups, max(2, round(1.0 / fraction)))
    if n_groups < 2:
        raise DataError("cannot split by subject: all images belong to one subject")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    keep, held = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return np.sort(keep), np.sort(held)


def carve(split: Split, fraction: float, seed: int = 0, *, name: str = "split fraction") -> tuple[Split, Split]:
    """Split one split into (rest, held out), grouped by subject where groups are known."""
    keep, held = holdout_indices(split.labels, fraction, seed, split.groups, name=name)
    return subset(split, keep), subset(split, held)


def ensure_val(dataset: Dataset, fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Carve a stratified (and subject-grouped) validation split out of train when there is none."""
    if "val" in dataset.splits or "train" not in dataset.splits or fraction <= 0:
        return dataset
    train, val = carve(dataset.splits["train"], fraction, seed, name="val_fraction (--val-fraction)")
    splits = {"train": train, "val": val, **{k: v for k, v in dataset.splits.items() if k != "train"}}
    meta = {**dataset.meta, "val_carved": {"fraction": fraction, "seed": seed, "grouped": train.groups is not None}}
    return replace(dataset, splits=splits, meta=meta)


def pooled(dataset: Dataset) -> Split:
    return concat([dataset.splits[name] for name in dataset.splits])


def kfold(dataset: Dataset, k: int, *, seed: int = 0) -> list[Dataset]:
    """``k`` datasets with ``train`` and ``test`` splits over all images, stratified and grouped by subject where known.

    Every image is in exactly one test fold; with groups, no subject is in both splits of a fold.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if k < 2:
        raise DataError(f"k-fold needs k >= 2, got {k}")
    everything = pooled(dataset)
    x = np.zeros(len(everything))
    if everything.groups is not None:
        n_groups = len(np.unique(everything.groups))
        if n_groups < k:
            raise DataError(f"cannot make {k} subject-grouped folds from {n_groups} subjects")
        folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, everything.labels, everything.groups)
        how = "fold-subject"
    else:
        if len(everything) < k:
            raise DataError(f"cannot make {k} folds from {len(everything)} images")
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, everything.labels)
        how = "fold"
    prefix = dataset.protocol.split(":")[0]
    protocol = f"{prefix}:{k}{how}:{len(dataset.classes)}cls"
    return [
        replace(
            dataset,
            splits={"train": subset(everything, train), "test": subset(everything, test)},
            protocol=protocol,
            meta={**dataset.meta, "fold": i, "folds": k, "fold_seed": seed},
        )
        for i, (train, test) in enumerate(folds)
    ]
