"""Listing labelled image folders and decoding them straight into one preallocated uint8 array."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_core.errors import DataError, printable

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm", ".pnm", ".tif", ".tiff", ".webp"})
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
SHOW_AT_MOST = 10


class DataWarning(UserWarning):
    """Data problems the user chose to skip (``on_bad='skip'``)."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    rel: str
    size: int
    mtime_ns: int
    label: str  # class folder name as written on disk
    split: str | None  # train / val / test from the folder, None for a flat <label>/<image> tree


@dataclass(frozen=True)
class Listing:
    root: Path
    files: list[FileEntry]
    bad: list[tuple[str, str]]  # (path, reason) for files that are not images
    empty_classes: list[str]

    def fingerprint(self) -> list[tuple[str, int, int]]:
        return [(f.rel, f.size, f.mtime_ns) for f in self.files] + [(f"bad:{p}", 0, 0) for p, _ in self.bad]


def _visible(entry: os.DirEntry[str]) -> bool:
    return not entry.name.startswith(".") and entry.name.lower() not in IGNORED_NAMES


def is_dir_entry(entry: os.DirEntry[str]) -> bool:
    """``entry.is_dir()``, False for a broken or looping symbolic link (which raises ``OSError`` there)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def is_file_entry(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def subdirs(path: Path) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return sorted((e for e in it if is_dir_entry(e) and _visible(e)), key=lambda e: e.name)


def broken_links(path: Path) -> list[tuple[str, str]]:
    """(path, reason) for each visible symbolic link in ``path`` that leads nowhere or around in a loop."""
    found = []
    with os.scandir(path) as it:
        for entry in it:
            if _visible(entry) and entry.is_symlink():
                try:
                    os.stat(entry.path)
                except OSError as exc:
                    found.append((entry.path, link_problem(exc)))
    return sorted(found)


def link_problem(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "broken symbolic link (its target does not exist)"
    return f"cannot read: {exc.strerror or exc}"


def is_split_layout(root: Path) -> bool:
    """True when ``root`` holds train/val/test folders rather than class folders."""
    return any(d.name.lower() in SPLIT_NAMES for d in subdirs(root))


def list_labelled_images(root: Path) -> Listing:
    """Files of ``root/<label>/*`` or ``root/<split>/<label>/*``, split by split, then by label and name."""
    if not root.exists():
        raise DataError(f"no such file or directory: {root}")
    if not root.is_dir():
        raise DataError(f"not a folder: {root}")
    top = subdirs(root)
    if not top:
        raise DataError(f"no class folders in {root}: expected <label>/<image> or train/<label>/<image>")
    files: list[FileEntry] = []
    bad: list[tuple[str, str]] = broken_links(root)
    empty: list[str] = []
    if is_split_layout(root):
        others = [d.name for d in top if d.name.lower() not in SPLIT_NAMES]
        if others:
            raise DataError(f"unexpected folder(s) {', '.join(others)} in {root} next to {', '.join(sorted(SPLIT_NAMES))} folders")
        order = {"train": 0, "val": 1, "test": 2}
        for split_dir in sorted(top, key=lambda d: order[SPLIT_NAMES[d.name.lower()]]):
            split = SPLIT_NAMES[split_dir.name.lower()]
            bad.extend(broken_links(Path(split_dir.path)))
            class_dirs = subdirs(Path(split_dir.path))
            if not class_dirs:
                raise DataError(f"no class folders in {split_dir.path}")
            for class_dir in class_dirs:
                _list_class(Path(class_dir.path), f"{split_dir.name}/{class_dir.name}/", split, files, bad, empty)
    else:
        for class_dir in top:
            _list_class(Path(class_dir.path), f"{class_dir.name}/", None, files, bad, empty)
    return Listing(root=root, files=files, bad=bad, empty_classes=empty)


def _list_class(folder: Path, rel: str, split: str | None, files: list[FileEntry], bad: list[tuple[str, str]], empty: list[str]) -> None:
    found = 0
    label = folder.name
    with os.scandir(folder) as it:
        entries = sorted((e for e in it if _visible(e)), key=lambda e: e.name)
    for entry in entries:
        if is_dir_entry(entry):
            continue
        try:
            stat = entry.stat()
        except OSError as exc:
            bad.append((entry.path, link_problem(exc)))
            continue
        if os.path.splitext(entry.name)[1].lower() not in IMAGE_EXTENSIONS:
            bad.append((entry.path, "not an image file"))
            continue
        files.append(FileEntry(entry.path, rel + entry.name, stat.st_size, stat.st_mtime_ns, label, split))
        found += 1
    if not found:
        empty.append(str(folder))


def decode_images(paths: Sequence[str], sizes: Sequence[int], channels: int, size: int | None) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Decode ``paths`` into a uint8 array (N, S, S[, 3]); returns it and the (path, reason) of files that failed.

    ``size`` None keeps the first image's size (all images must then share it or are resized to it).
    Rows of failed files stay zero; callers drop them.
    """
    import cv2

    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    n = len(paths)
    if size is None:
        size = _first_size(paths, sizes, flag)
    shape = (n, size, size) if channels == 1 else (n, size, size, 3)
    out = np.zeros(shape, np.uint8)
    failures: list[tuple[int, str]] = []

    def work(chunk: range) -> list[tuple[int, str]]:
        from fer_core.preprocess import conform_images

        local = []
        for i in chunk:
            if sizes[i] == 0:
                local.append((i, "empty file (0 bytes)"))
                continue
            try:
                image = read_image(paths[i], flag)
                if image is not None and image.shape[:2] != (size, size):
                    image = conform_images(image[None], channels, size)[0]
            except (cv2.error, OSError, ValueError, MemoryError) as exc:  # e.g. a header claiming more pixels than OpenCV allows
                local.append((i, decode_problem(exc)))
                continue
            if image is None:
                local.append((i, "cannot decode image (corrupt or not an image)"))
                continue
            out[i] = image
        return local

    workers = max(1, min(4, os.cpu_count() or 1))
    step = max(256, -(-n // (workers * 4)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for local in pool.map(work, [range(s, min(n, s + step)) for s in range(0, n, step)]):
            failures.extend(local)
    return out, [(paths[i], reason) for i, reason in sorted(failures)]


def _first_size(paths: Sequence[str], sizes: Sequence[int], flag: int) -> int:
    import cv2

    for path, nbytes in zip(paths, sizes, strict=True):
        if nbytes:
            try:
                image = read_image(path, flag)
            except (cv2.error, OSError, MemoryError):
                continue  # reported when the file is decoded
            if image is not None:
                return int(image.shape[0])
    return 48


class DeclaredTooLarge(MemoryError):
    """A header declaring more pixels than fer decodes (``image_header.MAX_PIXELS``): refused before any allocation.
    A ``MemoryError``, so every caller that reports an undecodable image reports this one too."""


def read_image(path: str, flag: int) -> np.ndarray | None:
    """``cv2.imread`` through Python's file reading: OpenCV crashes the process on a name that is not valid UTF-8.

    A header declaring more than ``image_header.MAX_PIXELS`` pixels raises ``DeclaredTooLarge`` before decoding.
    """
    import cv2

    from fer_core.data.image_header import too_many_pixels

    with open(path, "rb") as handle:
        data = handle.read()
    reason = too_many_pixels(data[:65536])
    if reason is not None:
        raise DeclaredTooLarge(reason)
    return cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None


def decode_problem(exc: BaseException) -> str:
    """A one-line reason for an image OpenCV refused to decode."""
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    if isinstance(exc, DeclaredTooLarge):
        return str(exc)
    text = str(exc)
    if "CV_IO_MAX_IMAGE_PIXELS" in text or isinstance(exc, MemoryError):
        return "image header claims more pixels than fer will decode (forged or damaged header)"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"cannot decode image ({lines[-1][:120] if lines else type(exc).__name__})"


def handle_bad(bad: Sequence[tuple[str, str]], on_bad: str, where: str | Path) -> None:
    """Raise one DataError for bad files, or warn listing them when the user chose to skip."""
    if not bad:
        return
    shown = "; ".join(f"{path}: {reason}" for path, reason in bad[:SHOW_AT_MOST])
    more = f"; and {len(bad) - SHOW_AT_MOST} more" if len(bad) > SHOW_AT_MOST else ""
    if on_bad == "skip":
        warnings.warn(printable(f"skipped {len(bad)} bad file(s) in {where}: {shown}{more}"), DataWarning, stacklevel=3)
        return
    if len(bad) == 1:
        path, reason = bad[0]
        raise DataError(f"bad image {path}: {reason} (pass --on-bad skip to skip bad files)")
    raise DataError(f"{len(bad)} bad files in {where}: {shown}{more} (pass --on-bad skip to skip them)")


def handle_empty(empty: Sequence[str], on_bad: str) -> None:
    if not empty:
        return
    if on_bad == "skip":
        warnings.warn(printable(f"skipped {len(empty)} empty class folder(s): {', '.join(empty)}"), DataWarning, stacklevel=3)
        return
    raise DataError(f"empty class folder: {empty[0]} has no images" + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""))
