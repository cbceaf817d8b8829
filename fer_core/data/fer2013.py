"""FER-2013 as the original CSV or as the Kaggle image folders (``train/<emotion>/Training_*.jpg`` ...).

Official splits: Training -> train, PublicTest -> val, PrivateTest -> test. In folders they
are recovered from the file-name prefixes where present (Kaggle's ``test/`` mixes
PublicTest and PrivateTest), else taken from the folder names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fer_core.api import Dataset
from fer_core.data.cache import cached_table, content_key
from fer_core.data.fer2013_csv import looks_like_fer_csv, read_fer_csv
from fer_core.data.images import IMAGE_EXTENSIONS, FileEntry, is_split_layout
from fer_core.data.reader import read_labelled_folder
from fer_core.data.source_base import FileSource
from fer_core.data.table import ImageTable

USAGE_PREFIXES = {"Training_": "train", "PublicTest_": "val", "PrivateTest_": "test"}


def split_from_name(entry: FileEntry) -> str:
    name = os.path.basename(entry.path)
    for prefix, split in USAGE_PREFIXES.items():
        if name.startswith(prefix):
            return split
    return entry.split or "train"


def has_usage_prefixes(root: Path) -> bool:
    """Whether the first image file under ``root`` (at most three levels deep) has a FER-2013 Usage prefix."""
    for folder, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".")) if folder.count(os.sep) - str(root).count(os.sep) < 3 else []
        images = sorted(f for f in files if Path(f).suffix.lower() in IMAGE_EXTENSIONS)
        if images:
            return images[0].startswith(tuple(USAGE_PREFIXES))
    return False


class Fer2013Source(FileSource):
    description: ClassVar[str] = "FER-2013: the original CSV (emotion,pixels,Usage) or the Kaggle train/test image folders."
    detect_priority: ClassVar[int] = 10
    short_name: ClassVar[str] = "fer"

    def can_load(self, path: Path) -> bool:
        if path.is_file():
            return path.suffix.lower() == ".csv" and looks_like_fer_csv(path)
        return path.is_dir() and has_usage_prefixes(path)

    def load(self, path: Path | None) -> Dataset:
        path = self.require(path, "fer2013")
        if path.is_file():
            table, meta = self._read_csv(path)
            meta.update(format="FER-2013 CSV (emotion,pixels,Usage)", splits_from="Usage column")
        else:
            table, meta = read_labelled_folder(
                path,
                source="fer2013",
                split_of=split_from_name,
                channels=self.option_int("channels", 1, (1, 3)),
                size=self.option_int("size", 48),
                on_bad=self.on_bad,
                cache=self.cache,
                cache_dir=self.cache_dir,
            )
            prefixed = bool(len(table)) and os.path.basename(str(table.ids[0])).startswith(tuple(USAGE_PREFIXES))
            layout = "train/val/test folders" if is_split_layout(path) else "<emotion> folders"
            meta.update(format=f"FER-2013 image folders ({layout})", splits_from="file-name prefixes" if prefixed else "folder names")
        meta.update(source="fer2013", path=str(path), short_name=self.short_name)
        return table.to_dataset(name="fer2013", protocol=_protocol(table, meta), mapping=self.mapping, where=str(path), meta=meta)

    def _read_csv(self, path: Path) -> tuple[ImageTable, dict[str, Any]]:
        stat = path.stat()
        key = content_key("fer2013-csv", {}, [(path.name, stat.st_size, stat.st_mtime_ns)])
        table, meta, hit = cached_table(
            "fer2013-csv", path, key, lambda: (read_fer_csv(path), {}), cache_dir=self.cache_dir, enabled=self.cache
        )
        return table, {**meta, "cache_hit": hit}


def _protocol(table: ImageTable, meta: dict[str, Any]) -> str:
    present = set(np.unique(table.splits).tolist())
    official = meta.get("splits_from") != "folder names"
    if "test" in present:
        target = "privatetest" if official else "test"
    elif "val" in present:
        target = "publictest" if official else "val"
    else:
        target = "val"
    return f"fer2013:train->{target}:{len(table.label_names)}cls"
