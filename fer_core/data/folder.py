"""Any folder of ``<label>/<image>`` (or ``train|val|test/<label>/<image>``): RAF-DB, AffectNet exports, own photos.

Images of any size or channel count are converted to ``channels`` (1 or 3) and ``size``
pixels square; labels come from the folder names, mapped onto the canonical classes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from fer_core.api import Dataset
from fer_core.data.images import IMAGE_EXTENSIONS, is_file_entry, is_split_layout, subdirs
from fer_core.data.reader import read_labelled_folder
from fer_core.data.source_base import FileSource


def has_labelled_images(root: Path) -> bool:
    """A cheap look: some class folder (under a split folder if any) holds an image file."""
    if not root.is_dir():
        return False
    folders = [Path(d.path) for d in subdirs(root)]
    if is_split_layout(root):
        folders = [Path(c.path) for f in folders for c in subdirs(f)]
    for folder in folders[:20]:
        with os.scandir(folder) as it:
            if any(is_file_entry(e) and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS for e in it):
                return True
    return False


class ImageFolderSource(FileSource):
    """Options: ``channels`` (1 or 3, default 1), ``size`` (default 48); plus the common file options."""

    description: ClassVar[str] = "Any <label>/<image> folder (optionally under train/val/test), converted to gray or RGB and resized."
    detect_priority: ClassVar[int] = -10  # the catch-all: specific formats win

    def can_load(self, path: Path) -> bool:
        return has_labelled_images(path)

    def load(self, path: Path | None) -> Dataset:
        path = self.require(path, "folder")
        channels = self.option_int("channels", 1, (1, 3))
        size = self.option_int("size", 48)
        split_layout = path.is_dir() and is_split_layout(path)
        table, meta = read_labelled_folder(
            path,
            source="folder",
            split_of=lambda entry: entry.split or "train",
            channels=channels,
            size=size,
            on_bad=self.on_bad,
            cache=self.cache,
            cache_dir=self.cache_dir,
        )
        name = path.resolve().name or "folder"
        meta.update(
            source="folder",
            path=str(path),
            short_name=name,
            format="image folders (train|val|test/<label>/<image>)" if split_layout else "image folders (<label>/<image>)",
            splits_from="folder names" if split_layout else "none (all images in train)",
            converted_to={"channels": channels, "size": size},
        )
        return table.to_dataset(
            name=name, protocol=f"{name}:folder:{len(table.label_names)}cls", mapping=self.mapping, where=str(path), meta=meta
        )
