"""Decode once: decoded images are kept as an uncompressed uint8 ``.npz`` keyed by the source's content.

The key hashes every input file's relative path, size and modification time (plus the
decode settings), so any change to the data makes a new entry; the entry for the same
source path that it replaces is removed. Entries are written atomically and read with
``allow_pickle=False``. Location: ``cache_dir`` if given, else ``$FER_CACHE_DIR``, else
``~/.cache/fer``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.atomic import atomic_path
from fer_core.data.table import ImageTable

CACHE_ENV = "FER_CACHE_DIR"
FORMAT_VERSION = 1


def cache_root(cache_dir: Path | str | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fer"


def content_key(source: str, settings: dict[str, Any], files: Iterable[tuple[str, int, int]]) -> str:
    """A hash of the decode settings and each file's (relative path, size, mtime in ns)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"v": FORMAT_VERSION, "source": source, **settings}, sort_keys=True).encode())
    for rel, size, mtime in files:  # file names need not be UTF-8: hash the bytes the file system gave
        digest.update(f"\n{rel}\t{size}\t{mtime}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:24]


def cached_table(
    source: str,
    root: Path,
    key: str,
    build: Callable[[], tuple[ImageTable, dict[str, Any]]],
    *,
    cache_dir: Path | str | None = None,
    enabled: bool = True,
) -> tuple[ImageTable, dict[str, Any], bool]:
    """(table, meta, hit): the cached entry for ``key``, or ``build()``'s result, stored for next time."""
    if not enabled:
        table, meta = build()
        return table, meta, False
    folder = cache_root(cache_dir) / "data"
    stem = f"{source}-{hashlib.sha256(str(root.resolve()).encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"
    entry = folder / f"{stem}-{key}.npz"
    loaded = _read(entry)
    if loaded is not None:
        return loaded[0], loaded[1], True
    table, meta = build()
    _write(entry, table, meta)
    for stale in folder.glob(f"{stem}-*.npz"):
        if stale != entry:
            stale.unlink(missing_ok=True)
    return table, meta, False


def _read(entry: Path) -> tuple[ImageTable, dict[str, Any]] | None:
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(str(arrays.pop("meta_json")))
        return ImageTable.from_arrays(arrays), meta
    except Exception as exc:  # a damaged entry (bad CRC, truncated, forged arrays) is rebuilt, never trusted
        warnings.warn(f"ignoring unreadable data cache entry {entry}: {exc}", stacklevel=3)
        return None


def _write(entry: Path, table: ImageTable, meta: dict[str, Any]) -> None:
    arrays = {**table.to_arrays(), "meta_json": np.array(json.dumps(meta))}
    try:
        with atomic_path(entry) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    except OSError as exc:
        warnings.warn(f"could not write the data cache at {entry}: {exc}; data will be decoded again next time", stacklevel=3)
