"""Honest splits: stratified by label, grouped by subject when the source knows subjects.

Grouped splits never put one subject on both sides (CK+ has three near-identical
frames per sequence and several sequences per subject).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fer_core.api import Dataset, Split
from fer_core.errors import DataError, UsageError


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


FOLD_SEED = 0  # the folds (and each fold's validation part) never move with the training seed: cells pair by fold
FOLD_VAL_FRACTION = 0.1


def parse_fold(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``: fold I (1-based) of K; one ``UsageError`` line for anything else."""
    index, sep, count = str(text).strip().partition("/")
    try:
        i, k = int(index), int(count)
    except ValueError:
        i = k = 0
    if not sep or k < 2 or not 1 <= i <= k:
        raise UsageError(f"a fold is I/K with K >= 2 and I from 1 to K (e.g. 2/5), got '{text}'")
    return i, k


def fold_problem(text: str) -> str | None:
    """What is wrong with a fold spec, or None (``Setting.check`` of ``TrainConfig.fold``)."""
    try:
        parse_fold(text)
    except UsageError:
        return f"must be I/K with K >= 2 and I from 1 to K (e.g. 2/5), got '{text}'"
    return None


def fold_indices(
    labels: np.ndarray, k: int, *, groups: np.ndarray | None = None, seed: int = FOLD_SEED
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs: every index in exactly one test part; stratified by label, and grouped
    (no group on both sides) when ``groups`` is given."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if k < 2:
        raise DataError(f"k-fold needs k >= 2, got {k}")
    x = np.zeros(len(labels))
    with warnings.catch_warnings():  # a class rarer than k: scikit-learn warns, and stratifies as well as it can
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        if groups is not None:
            n_groups = len(np.unique(groups))
            if n_groups < k:
                raise DataError(f"cannot make {k} subject-grouped folds from {n_groups} subjects")
            folds = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, labels, groups))
        else:
            if len(labels) < k:
                raise DataError(f"cannot make {k} folds from {len(labels)} images")
            folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, labels))
    return [(np.sort(train), np.sort(test)) for train, test in folds]


def _fold_protocol(dataset: Dataset, k: int, grouped: bool) -> str:
    prefix = dataset.protocol.split(":")[0]
    return f"{prefix}:{k}{'fold-subject' if grouped else 'fold'}:{len(dataset.classes)}cls"


def kfold(dataset: Dataset, k: int, *, seed: int = FOLD_SEED) -> list[Dataset]:
    """``k`` datasets with ``train`` and ``test`` splits over all images, stratified and grouped by subject where known.

    Every image is in exactly one test fold; with groups, no subject is in both splits of a fold.
    """
    everything = pooled(dataset)
    folds = fold_indices(everything.labels, k, groups=everything.groups, seed=seed)
    protocol = _fold_protocol(dataset, k, everything.groups is not None)
    return [
        replace(
            dataset,
            splits={"train": subset(everything, train), "test": subset(everything, test)},
            protocol=protocol,
            meta={**dataset.meta, "fold": i, "folds": k, "fold_seed": seed},
        )
        for i, (train, test) in enumerate(folds, 1)
    ]


def is_fold(dataset: Dataset, fold: str) -> bool:
    """True when ``dataset`` already is fold ``fold`` (``I/K``) made by ``fold_dataset``."""
    return (dataset.meta.get("fold"), dataset.meta.get("folds")) == parse_fold(fold) and "fold_val_fraction" in dataset.meta


def fold_dataset(dataset: Dataset, fold: str | None, *, seed: int = FOLD_SEED) -> Dataset:
    """Fold ``I/K`` of ``dataset`` (all its splits pooled): ``test`` is the held-out fold (the ``kfold`` partition) and
    ``val`` is carved from the rest (grouped by subject where known), never from the held-out fold; the rest is ``train``.

    ``fold`` None returns ``dataset`` unchanged, and so does a dataset that already is that fold. The partition and the
    validation part depend on the data alone (seed ``FOLD_SEED``), not on the training seed, so cells pair by fold.
    """
    if fold is None or is_fold(dataset, fold):
        return dataset
    i, k = parse_fold(fold)
    everything = pooled(dataset)
    train_index, test_index = fold_indices(everything.labels, k, groups=everything.groups, seed=seed)[i - 1]
    val_fraction = float((dataset.meta.get("val_carved") or {}).get("fraction", FOLD_VAL_FRACTION)) or FOLD_VAL_FRACTION
    train, val = carve(subset(everything, train_index), val_fraction, seed, name=f"fold {fold}: val_fraction")
    meta = {**dataset.meta, "fold": i, "folds": k, "fold_seed": seed, "fold_val_fraction": val_fraction}
    meta.pop("val_carved", None)
    return replace(
        dataset,
        splits={"train": train, "val": val, "test": subset(everything, test_index)},
        protocol=_fold_protocol(dataset, k, everything.groups is not None),
        meta=meta,
    )
