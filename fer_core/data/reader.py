"""Read a labelled image folder into an ``ImageTable``, through the decode cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.data.cache import cached_table, content_key
from fer_core.data.images import FileEntry, decode_images, handle_bad, handle_empty, list_labelled_images
from fer_core.data.table import SPLIT_ORDER, ImageTable


def read_labelled_folder(
    root: Path,
    *,
    source: str,
    split_of: Callable[[FileEntry], str],
    group_of: Callable[[FileEntry], str] | None = None,
    channels: int = 1,
    size: int | None = 48,
    on_bad: str = "error",
    cache: bool = True,
    cache_dir: Path | str | None = None,
) -> tuple[ImageTable, dict[str, Any]]:
    """Decode every image under ``root`` once; bad files raise or are skipped with a warning (``on_bad``).

    Returns the table (rows ordered train, val, test) and meta with ``bad`` files and ``cache_hit``.
    """
    listing = list_labelled_images(root)
    handle_empty(listing.empty_classes, on_bad)
    settings = {"channels": channels, "size": size, "grouped": group_of is not None}
    key = content_key(source, settings, listing.fingerprint())

    def build() -> tuple[ImageTable, dict[str, Any]]:
        order = {name: i for i, name in enumerate(SPLIT_ORDER)}
        files = sorted(listing.files, key=lambda f: order[split_of(f)])
        images, failed = decode_images([f.path for f in files], [f.size for f in files], channels, size)
        bad = listing.bad + failed
        handle_bad(bad, on_bad, root)
        if failed:
            failed_paths = {p for p, _ in failed}
            keep = np.array([f.path not in failed_paths for f in files])
            images = images[keep]
            files = [f for f, k in zip(files, keep, strict=True) if k]
        label_names = tuple(sorted({f.label for f in files}))
        position = {name: i for i, name in enumerate(label_names)}
        table = ImageTable(
            images=images,
            labels=np.array([position[f.label] for f in files], np.int64),
            label_names=label_names,
            splits=np.array([split_of(f) for f in files], dtype=str),
            ids=np.array([f.rel for f in files], dtype=str),
            groups=np.array([group_of(f) for f in files], dtype=str) if group_of else None,
        )
        return table, {"bad": [list(b) for b in bad]}

    table, meta, hit = cached_table(source, root, key, build, cache_dir=cache_dir, enabled=cache)
    if hit:
        handle_bad([tuple(b) for b in meta.get("bad", [])], on_bad, root)
    return table, {**meta, "cache_hit": hit}
