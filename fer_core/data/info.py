"""A JSON-serialisable description of a loaded dataset, for ``fer data info`` and run records."""

from __future__ import annotations

from typing import Any

import numpy as np

from fer_core.api import Dataset
from fer_core.data.dedup import duplicate_report

SYNTHETIC_NOTE = "SYNTHETIC data (generated drawn faces, not real people): numbers on it say nothing about real-world accuracy."


def describe_dataset(dataset: Dataset, *, duplicates: bool = True) -> dict[str, Any]:
    height, width = dataset.image_size
    counts = {
        name: {
            **{c: int(n) for c, n in zip(dataset.classes, np.bincount(split.labels, minlength=len(dataset.classes)), strict=True)},
            "total": len(split),
        }
        for name, split in dataset.splits.items()
    }
    meta = dataset.meta
    info: dict[str, Any] = {
        "name": dataset.name,
        "format": meta.get("format", meta.get("source", "?")),
        "path": meta.get("path"),
        "synthetic": dataset.synthetic,
        "note": SYNTHETIC_NOTE if dataset.synthetic else None,
        "protocol": dataset.protocol,
        "classes": list(dataset.classes),
        "image_size": [height, width],
        "channels": dataset.channels,
        "counts": counts,
        "total": sum(len(s) for s in dataset.splits.values()),
        "splits_from": meta.get("splits_from"),
        "val_carved": meta.get("val_carved"),
        "subjects": meta.get("subjects"),
        "components": meta.get("components"),
        "moved_to_train": meta.get("moved_to_train") or None,
        "skipped_files": len(meta.get("bad", [])),
        "cache_hit": meta.get("cache_hit"),
    }
    if duplicates:
        info["duplicates"] = duplicate_report(dataset)
    return {k: v for k, v in info.items() if v is not None}
