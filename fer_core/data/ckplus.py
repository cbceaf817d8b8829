"""CK+ as the CK+48 folders (``anger/S010_004_00000017.png`` ...), split by subject.

CK+ has no official split, and its three frames per sequence (and several sequences
per subject) are near-identical, so the test split (and the validation split carved
later) holds out whole subjects: no subject is ever on both sides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from fer_core.api import Dataset
from fer_core.data.images import IMAGE_EXTENSIONS, FileEntry, is_file_entry, is_split_layout
from fer_core.data.reader import read_labelled_folder
from fer_core.data.source_base import FILE_OPTIONS, FileSource
from fer_core.data.splits import carve
from fer_core.errors import DataError, UsageError
from fer_core.options import OptionSpec

CK_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def subject_of(entry: FileEntry) -> str:
    match = CK_NAME.match(os.path.basename(entry.path))
    if match is None:
        raise DataError(f"CK+ file {entry.path} is not named S<subject>_<sequence>_<frame> (e.g. S010_004_00000017.png)")
    return match.group(1).upper()


def looks_like_ckplus(root: Path) -> bool:
    if not root.is_dir() or is_split_layout(root):
        return False
    for class_dir in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        images = sorted(f.name for f in os.scandir(class_dir) if is_file_entry(f) and Path(f.name).suffix.lower() in IMAGE_EXTENSIONS)
        if images:
            return CK_NAME.match(images[0]) is not None
    return False


class CKPlusSource(FileSource):
    """Options: ``test_fraction`` (default 0.2) of subjects held out for test, ``seed``; plus the common file options."""

    description: ClassVar[str] = "CK+48 folders (S<subject>_<seq>_<frame>.png); every split and fold is grouped by subject."
    detect_priority: ClassVar[int] = 10
    short_name: ClassVar[str] = "ck"
    options_schema: ClassVar[Mapping[str, Any] | None] = {
        **FILE_OPTIONS,
        "test_fraction": OptionSpec("test_fraction", float, 0.2, "share of subjects held out for test (0: none)"),
    }

    def can_load(self, path: Path) -> bool:
        return looks_like_ckplus(path)

    def load(self, path: Path | None) -> Dataset:
        path = self.require(path, "ckplus")
        if not path.is_dir():
            raise DataError(f"CK+ expects a folder of <emotion>/S###_###_########.png, got the file {path}")
        table, meta = read_labelled_folder(
            path,
            source="ckplus",
            split_of=lambda entry: "train",
            group_of=subject_of,
            channels=self.option_int("channels", 1, (1, 3)),
            size=self.option_int("size", 48),
            on_bad=self.on_bad,
            cache=self.cache,
            cache_dir=self.cache_dir,
        )
        test_fraction = float(self.options.get("test_fraction", 0.2))
        if not 0 <= test_fraction < 1:
            raise UsageError(f"ckplus: option 'test_fraction' must be in [0, 1), got {test_fraction}")
        meta.update(
            source="ckplus",
            path=str(path),
            short_name=self.short_name,
            format="CK+48 folders (<emotion>/S<subject>_<sequence>_<frame>.png)",
            splits_from=f"subject-grouped hold-out ({test_fraction:.0%} of subjects for test, seed {self.seed})",
            subjects=len(set(table.groups.tolist())) if table.groups is not None else 0,
        )
        dataset = table.to_dataset(
            name="ckplus", protocol=f"ck+:subject-holdout:{len(table.label_names)}cls", mapping=self.mapping, where=str(path), meta=meta
        )
        if test_fraction <= 0:
            return dataset
        train, test = carve(dataset.splits["train"], test_fraction, self.seed, name="ckplus test_fraction")
        return replace(dataset, splits={"train": train, "test": test})
