"""``ImageTable``: what a file-based source decodes, before user choices (mapping, classes) apply.

One row per image: pixels, the source's own label name, the split it came in, an id
(file path or CSV row) and, where known, a subject group. This is what the decode
cache stores, so changing ``--map`` or ``--classes`` never forces a re-decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fer_core.api import Dataset, Split
from fer_core.data.labels import canonical_label, order_classes

SPLIT_ORDER = ("train", "val", "test")


@dataclass(frozen=True)
class ImageTable:
    images: np.ndarray  # uint8 (N, H, W) or (N, H, W, C)
    labels: np.ndarray  # int index into label_names
    label_names: tuple[str, ...]  # as the source spells them ("anger", "Happy", "3")
    splits: np.ndarray  # str: train / val / test
    ids: np.ndarray  # str
    groups: np.ndarray | None = None  # str subject ids

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "label_names": np.array(self.label_names, dtype=str),
            "splits": self.splits.astype(str),
            "ids": self.ids.astype(str),
        }
        if self.groups is not None:
            arrays["groups"] = self.groups.astype(str)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ImageTable:
        """The table ``to_arrays`` stored; ``ValueError`` when the arrays do not make one (a damaged or forged file)."""
        table = cls(
            images=arrays["images"],
            labels=arrays["labels"],
            label_names=tuple(str(n) for n in np.atleast_1d(arrays["label_names"])),
            splits=arrays["splits"],
            ids=arrays["ids"],
            groups=arrays.get("groups"),
        )
        problem = table.inconsistency()
        if problem:
            raise ValueError(f"not an image table: {problem}")
        return table

    def inconsistency(self) -> str | None:
        """What makes the arrays disagree with each other (shapes, types, labels out of range), or None."""
        images, labels = self.images, self.labels
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim not in (3, 4):
            return "images must be uint8 (N, H, W) or (N, H, W, C)"
        if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
            return "labels must be one integer per image"
        n = len(images)
        columns = {"labels": labels, "splits": self.splits, "ids": self.ids}
        if self.groups is not None:
            columns["groups"] = self.groups
        short = [name for name, column in columns.items() if not isinstance(column, np.ndarray) or column.shape != (n,)]
        if short:
            return f"{', '.join(short)} must have one entry per image ({n})"
        if n and (labels.min() < 0 or labels.max() >= len(self.label_names)):
            return f"labels outside 0..{len(self.label_names) - 1}"
        if not set(np.unique(self.splits).tolist()) <= set(SPLIT_ORDER):
            return f"splits must be among {', '.join(SPLIT_ORDER)}"
        return None

    def canonical_classes(self, mapping: Mapping[str, str] | None, where: str) -> tuple[tuple[str, ...], np.ndarray]:
        """(classes, labels re-indexed onto them) after mapping the source's names to canonical ones."""
        names = [canonical_label(n, mapping, where=f"{where}: label '{n}'") for n in self.label_names]
        classes = order_classes(names)
        table = np.array([classes.index(n) for n in names], np.int64)
        return classes, table[self.labels] if len(self.labels) else self.labels.astype(np.int64)

    def to_dataset(self, *, name: str, protocol: str, mapping: Mapping[str, str] | None, where: str, meta: dict) -> Dataset:
        classes, labels = self.canonical_classes(mapping, where)
        splits: dict[str, Split] = {}
        names = [s for s in SPLIT_ORDER if np.any(self.splits == s)]
        for split_name in names:
            index = np.flatnonzero(self.splits == split_name)
            if index[-1] - index[0] + 1 == len(index):  # rows stored split by split: views, no copy
                index = slice(int(index[0]), int(index[-1]) + 1)
            splits[split_name] = Split(
                images=self.images[index],
                labels=labels[index],
                groups=None if self.groups is None else self.groups[index],
                ids=self.ids[index],
            )
        return Dataset(name=name, classes=classes, splits=splits, protocol=protocol, meta=meta)
