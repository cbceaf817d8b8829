"""Class-level operations on datasets: canonical names, class selection, contempt, merging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from fer_core.api import Dataset, Split
from fer_core.data.labels import CONTEMPT, canonical_label, normalise, order_classes
from fer_core.data.splits import concat, subset
from fer_core.errors import DataError, UsageError


def relabel(dataset: Dataset, classes: Sequence[str]) -> Dataset:
    """Re-index labels onto ``classes`` (given by name); images of classes not listed are dropped."""
    classes = tuple(classes)
    position = {name: i for i, name in enumerate(classes)}
    table = np.array([position.get(name, -1) for name in dataset.classes], np.int64)
    splits: dict[str, Split] = {}
    for name, split in dataset.splits.items():
        new = table[split.labels] if len(split) else split.labels
        keep = np.flatnonzero(new >= 0)
        part = split if len(keep) == len(split) else subset(split, keep)
        splits[name] = replace(part, labels=new[keep])
    return replace(dataset, classes=classes, splits=splits, protocol=with_class_count(dataset.protocol, len(classes)))


def with_class_count(protocol: str, n: int) -> str:
    head, sep, tail = protocol.rpartition(":")
    return f"{head}:{n}cls" if sep and tail.endswith("cls") else f"{protocol}:{n}cls"


def canonicalise(dataset: Dataset, mapping: Mapping[str, str] | None = None) -> Dataset:
    """Map a dataset's class names onto canonical ones (two names may become one class)."""
    names = [canonical_label(c, mapping, where=f"class of {dataset.name}") for c in dataset.classes]
    if tuple(names) == dataset.classes and order_classes(names) == dataset.classes:
        return dataset
    target = order_classes(names)
    position = {name: i for i, name in enumerate(target)}
    table = np.array([position[n] for n in names], np.int64)
    splits = {k: replace(s, labels=table[s.labels]) for k, s in dataset.splits.items()}
    return replace(dataset, classes=target, splits=splits)


def apply_contempt(dataset: Dataset, contempt: str) -> Dataset:
    if contempt not in ("keep", "drop"):
        raise UsageError(f"contempt must be 'keep' or 'drop', got '{contempt}'")
    if contempt == "keep" or CONTEMPT not in dataset.classes:
        return dataset
    return relabel(dataset, [c for c in dataset.classes if c != CONTEMPT])


def select_classes(dataset: Dataset, classes: str, mapping: Mapping[str, str] | None = None) -> Dataset:
    """``auto``: the classes present; else a comma-separated list (images of other classes are dropped)."""
    if classes.strip().lower() == "auto":
        return dataset
    wanted = [canonical_label(c, mapping) if normalise(c) else "" for c in classes.split(",")]
    wanted = [c for c in wanted if c]
    if not wanted:
        raise UsageError("--classes is empty; give 'auto' or names such as angry,happy,neutral")
    missing = [c for c in wanted if c not in dataset.classes]
    if missing:
        raise DataError(f"classes not in {dataset.name}: {', '.join(missing)}; it has {', '.join(dataset.classes)}")
    return relabel(dataset, order_classes(wanted))


def merge(datasets: Sequence[Dataset]) -> Dataset:
    """Union of classes in canonical order; splits of the same name are concatenated.

    Only splits every part has are kept as such; a part's other splits join its train
    split (CK+'s held-out subjects when merged with FER-2013's train/val), which the
    merged dataset's meta records.
    """
    first = datasets[0]
    shape = first.splits[next(iter(first.splits))].images.shape[1:]
    for other in datasets[1:]:
        other_shape = other.splits[next(iter(other.splits))].images.shape[1:]
        if other_shape != shape:
            raise DataError(f"cannot merge {first.name} {shape} with {other.name} {other_shape}: pass the same size and channels")
    classes = order_classes(c for d in datasets for c in d.classes)
    common = [name for name in first.splits if all(name in d.splits for d in datasets)]
    if "train" not in common:
        raise DataError("cannot merge: not every part has a train split")
    moved: dict[str, list[str]] = {}
    parts: dict[str, list[Split]] = {name: [] for name in common}
    for part in datasets:
        relabelled = relabel(part, classes)
        for name, split in relabelled.splits.items():
            tagged = _tag(split, part.name)
            if name in parts:
                parts[name].append(tagged)
            else:
                parts["train"].append(tagged)
                moved.setdefault(part.name, []).append(name)
    splits = {name: concat(pieces) for name, pieces in parts.items()}
    prefix = "+".join(str(d.meta.get("short_name") or d.protocol.split(":")[0]) for d in datasets)
    meta = {
        "source": "merged",
        "components": [{"name": d.name, "protocol": d.protocol, "synthetic": d.synthetic, **_counts(d)} for d in datasets],
        "moved_to_train": moved,
    }
    return Dataset(
        name="+".join(d.name for d in datasets),
        classes=classes,
        splits=splits,
        protocol=f"{prefix}:merged:{len(classes)}cls",
        synthetic=any(d.synthetic for d in datasets),
        meta=meta,
    )


def _tag(split: Split, name: str) -> Split:
    """Prefix ids and groups with the part's name so they stay unique after merging."""
    n = len(split)
    ids = np.char.add(f"{name}/", split.ids.astype(str)) if split.ids is not None else np.char.add(f"{name}/", np.arange(n).astype(str))
    groups = np.char.add(f"{name}/", split.groups.astype(str)) if split.groups is not None else ids
    return replace(split, ids=ids, groups=groups)


def _counts(dataset: Dataset) -> dict[str, int]:
    return {name: len(split) for name, split in dataset.splits.items()}
