"""Exact duplicates, found by hashing pixel bytes: within splits, across splits, with conflicting labels.

FER-2013 holds hundreds of val/test images with an identical training image; a model
can score on those by memory. ``exclude_train_duplicates`` drops them from an
evaluation split so a report can show how much the headline number owes to leakage.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import numpy as np

from fer_core.api import Dataset, Split
from fer_core.data.splits import subset
from fer_core.errors import DataError


def pixel_hashes(images: np.ndarray) -> np.ndarray:
    """One 16-byte digest per image (shape and pixel bytes); equal digests mean identical images."""
    out = np.empty(len(images), dtype="S16")
    flat = np.ascontiguousarray(images).reshape(len(images), -1)
    for i, row in enumerate(flat):
        out[i] = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
    return out


def train_duplicate_mask(dataset: Dataset, split: str) -> np.ndarray:
    """True for each image of ``split`` that has an exact copy in ``train``."""
    train, other = _splits(dataset, split)
    return np.isin(pixel_hashes(other.images), pixel_hashes(train.images))


def exclude_train_duplicates(dataset: Dataset, split: str) -> Dataset:
    """The dataset with ``split`` minus its images that also appear (pixel for pixel) in ``train``."""
    mask = train_duplicate_mask(dataset, split)
    kept = subset(dataset.splits[split], np.flatnonzero(~mask))
    head, _, tail = dataset.protocol.rpartition(":")
    protocol = f"{head}-dedup:{tail}" if head else f"{dataset.protocol}-dedup"
    meta = {**dataset.meta, "excluded_train_duplicates": {**dataset.meta.get("excluded_train_duplicates", {}), split: int(mask.sum())}}
    return replace(dataset, splits={**dataset.splits, split: kept}, protocol=protocol, meta=meta)


def duplicate_report(dataset: Dataset) -> dict[str, Any]:
    """Counts of exact duplicates; JSON-serialisable."""
    names = list(dataset.splits)
    hashes = {name: pixel_hashes(dataset.splits[name].images) for name in names}
    labels = {name: dataset.splits[name].labels for name in names}
    every_hash = np.concatenate([hashes[n] for n in names])
    every_label = np.concatenate([labels[n] for n in names])
    unique, inverse, counts = np.unique(every_hash, return_inverse=True, return_counts=True)
    in_group = counts[inverse] > 1
    conflicting = _groups_with_conflicting_labels(inverse, every_label, counts)
    report: dict[str, Any] = {
        "images": len(every_hash),
        "distinct": len(unique),
        "duplicate_groups": int((counts > 1).sum()),
        "files_in_duplicate_groups": int(in_group.sum()),
        "groups_with_conflicting_labels": conflicting,
        "extra_copies_within_split": {n: int(len(hashes[n]) - len(np.unique(hashes[n]))) for n in names},
        "blank_images": {n: int(_blank(dataset.splits[n].images).sum()) for n in names},
        "cross_split": {},
    }
    ordered = [n for n in ("train", "val", "test") if n in names] + [n for n in names if n not in ("train", "val", "test")]
    for i, earlier in enumerate(ordered):
        for later in ordered[i + 1 :]:
            report["cross_split"][f"{later}_in_{earlier}"] = _cross(hashes[earlier], labels[earlier], hashes[later], labels[later])
    return report


def _cross(ref_hash: np.ndarray, ref_label: np.ndarray, hash_: np.ndarray, label: np.ndarray) -> dict[str, int]:
    """How many images of one split have an exact copy in ``ref``, and with what labels."""
    has_copy = np.isin(hash_, ref_hash)
    ref_labels: dict[bytes, set[int]] = {}
    for h, lab in zip(ref_hash.tolist(), ref_label.tolist(), strict=True):
        ref_labels.setdefault(h, set()).add(lab)
    copies = [(ref_labels[h], lab) for h, lab, c in zip(hash_.tolist(), label.tolist(), has_copy.tolist(), strict=True) if c]
    distinct = np.unique(hash_[has_copy])
    return {
        "files_with_copy": int(has_copy.sum()),
        "distinct_images": len(distinct),
        "matched_reference_files": int(np.isin(ref_hash, distinct).sum()),
        "with_a_differently_labelled_copy": sum(1 for found, lab in copies if found - {lab}),
        "with_no_same_label_copy": sum(1 for found, lab in copies if lab not in found),
    }


def _groups_with_conflicting_labels(inverse: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> int:
    duplicated = counts[inverse] > 1
    pairs = np.unique(np.stack([inverse[duplicated], labels[duplicated]], 1), axis=0)
    labels_per_group = np.bincount(pairs[:, 0]) if len(pairs) else np.zeros(0, np.int64)
    return int((labels_per_group > 1).sum())


def _blank(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1)
    return flat.min(axis=1) == flat.max(axis=1) if len(images) else np.zeros(0, bool)


def _splits(dataset: Dataset, split: str) -> tuple[Split, Split]:
    if "train" not in dataset.splits:
        raise DataError(f"{dataset.name} has no train split to compare against")
    if split not in dataset.splits:
        raise DataError(f"{dataset.name} has no '{split}' split; it has {', '.join(dataset.splits)}")
    return dataset.splits["train"], dataset.splits[split]
