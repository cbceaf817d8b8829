"""The original FER-2013 CSV (``emotion,pixels,Usage``), parsed in chunks straight into uint8 rows.

Errors name the file, the data row (0-based, as pandas counts) and the line in the file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fer_core.data.labels import FER2013_IDS
from fer_core.data.table import ImageTable
from fer_core.errors import DataError

USAGE_TO_SPLIT = {"training": "train", "publictest": "val", "privatetest": "test"}
SPLIT_TO_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
CHUNK_ROWS = 4096


def looks_like_fer_csv(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:  # spreadsheets save a byte-order mark
            header = handle.readline(4096)
    except OSError:
        return False
    columns = {c.strip().strip('"').strip().lower() for c in header.split(",")}
    return {"emotion", "pixels"} <= columns


def read_fer_csv(path: Path) -> ImageTable:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"no such file: {path}")
    lines = _count_lines(path)
    out: np.ndarray | None = None
    splits: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    side = 0
    done = 0
    blank_from: int | None = None  # the first of the blank lines the file ends with
    try:
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, chunksize=CHUNK_ROWS, encoding="utf-8-sig")
        for chunk in reader:
            chunk.columns = [str(c).strip().lower() for c in chunk.columns]
            missing = [c for c in ("emotion", "pixels") if c not in chunk.columns]
            if missing:
                raise DataError(f"{path}: not a FER-2013 CSV: missing column(s) {', '.join(missing)} (expected emotion,pixels,Usage)")
            chunk, blank_from = _without_trailing_blanks(path, chunk, done, blank_from)
            if len(chunk) == 0:
                continue
            if out is None:
                side = _image_side(path, chunk["pixels"].iloc[:64].tolist())
                out = np.empty((_capacity(path, lines, side), side, side), np.uint8)
            labels.append(_emotions(path, chunk["emotion"], done))
            splits.append(_usages(path, chunk["usage"], done) if "usage" in chunk.columns else np.full(len(chunk), "train"))
            if done + len(chunk) > len(out):  # cannot happen for rows of side * side values; never write past the end
                raise DataError(f"{_where(path, done)}: more rows than the file can hold")
            _pixels(path, chunk["pixels"].tolist(), done, out[done : done + len(chunk)].reshape(len(chunk), side * side))
            done += len(chunk)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (a FER-2013 CSV starts with the header emotion,pixels,Usage)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV: {str(exc).strip().splitlines()[0]}") from None
    if out is None or done == 0:
        raise DataError(f"{path}: the CSV has no data rows")
    return ImageTable(
        images=out[:done],
        labels=np.concatenate(labels),
        label_names=FER2013_IDS,
        splits=np.concatenate(splits).astype(str),
        ids=np.char.add("row ", np.arange(done).astype(str)),
    )


def _without_trailing_blanks(path: Path, chunk, offset: int, blank_from: int | None):
    """The chunk minus blank rows at the end of the file; a blank row with data after it is an error naming it."""
    blank = np.ones(len(chunk), bool)
    for column in chunk.columns:
        blank &= _blank(chunk[column])
    if blank_from is not None and not blank.all():
        raise DataError(f"{_where(path, blank_from)}: empty line inside the data")
    if not blank.any():
        return chunk, blank_from
    first = int(np.argmax(blank))
    if not blank[first:].all():
        raise DataError(f"{_where(path, offset + first)}: empty line inside the data")
    return chunk.iloc[:first], (offset + first if blank_from is None else blank_from)


def _blank(values) -> np.ndarray:
    """True for empty or whitespace-only fields, without stripping every long pixels field."""
    lengths = values.str.len().to_numpy()
    blank = lengths == 0
    short = np.flatnonzero((lengths > 0) & (lengths < 64))
    if len(short):
        blank[short] = (values.iloc[short].str.strip() == "").to_numpy()
    return blank


def _capacity(path: Path, lines: int, side: int) -> int:
    """Rows to allocate: the line count, but never more than the file's size could hold (each value takes 2+ bytes)."""
    most = path.stat().st_size // max(1, 2 * side * side - 1) + 1
    return max(1, min(lines, most))


def write_fer_csv(path: Path, images: np.ndarray, labels: np.ndarray, splits: np.ndarray) -> None:
    """Write images as the original CSV: ``emotion`` is the index into the 7 FER-2013 ids."""
    from fer_core.atomic import atomic_path

    flat = images.reshape(len(images), -1)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(b"emotion,pixels,Usage\n")
        for start in range(0, len(flat), CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            rows = _pixel_text(flat[start:stop])
            for label, split, pixels in zip(labels[start:stop].tolist(), splits[start:stop].tolist(), rows, strict=True):
                handle.write(b"%d,%s,%s\n" % (label, pixels, SPLIT_TO_USAGE[split].encode()))


def _pixel_text(rows: np.ndarray) -> list[bytes]:
    """Space-separated decimal text of uint8 rows, built with array operations rather than per-value formatting."""
    values = rows.astype(np.int16)
    chars = np.zeros((*values.shape, 4), np.uint8)  # up to three digits and a separator; 0 marks "no character"
    chars[..., 0] = np.where(values >= 100, values // 100 + 48, 0)
    chars[..., 1] = np.where(values >= 10, values // 10 % 10 + 48, 0)
    chars[..., 2] = values % 10 + 48
    chars[..., 3] = 32
    chars[:, -1, 3] = 10  # end of row
    text = chars.reshape(-1)
    return text[text != 0].tobytes().split(b"\n")[:-1]


def _where(path: Path, row: int) -> str:
    return f"{path}: row {row} (line {row + 2})"


def _count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            lines += block.count(b"\n")
    return lines + 1


def _image_side(path: Path, first_rows: list[str]) -> int:
    """The side of the images: from the value count most of the first rows share, so one odd first row is blamed itself."""
    from collections import Counter

    counts = [len(text.split()) for text in first_rows]
    count = Counter(counts).most_common(1)[0][0]
    side = math.isqrt(count)
    if count == 0 or side * side != count:
        row = counts.index(count)
        raise DataError(f"{_where(path, row)}: {count} pixel values is not a square image (FER-2013 has 2304 = 48x48)")
    return side


def _emotions(path: Path, column, offset: int) -> np.ndarray:
    values = column.str.strip()
    valid = values.isin([str(i) for i in range(len(FER2013_IDS))]).to_numpy()
    if not valid.all():
        i = int(np.argmin(valid))
        raise DataError(f"{_where(path, offset + i)}: emotion '{values.iloc[i]}' is not an emotion id 0-{len(FER2013_IDS) - 1}")
    return values.astype(np.int64).to_numpy()


def _usages(path: Path, column, offset: int) -> np.ndarray:
    mapped = column.str.strip().str.lower().map(USAGE_TO_SPLIT)
    unknown = mapped.isna().to_numpy()
    if unknown.any():
        i = int(np.argmax(unknown))
        raise DataError(f"{_where(path, offset + i)}: unknown Usage '{column.iloc[i]}' (expected Training, PublicTest or PrivateTest)")
    return mapped.to_numpy(dtype=str)


def _pixels(path: Path, rows: list[str], offset: int, out: np.ndarray) -> None:
    expected = out.shape[1]
    for i, text in enumerate(rows):
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except ValueError:
            values = None
        if values is None or len(values) != expected or not text.strip():
            raise DataError(f"{_where(path, offset + i)}: {_pixel_problem(text, expected)}")
        if values.min() < 0 or values.max() > 255:
            bad = values[(values < 0) | (values > 255)][0]
            raise DataError(f"{_where(path, offset + i)}: pixel value {bad} is out of range 0-255")
        out[i] = values


def _pixel_problem(text: str, expected: int) -> str:
    tokens = text.split()
    for token in tokens:
        if not token.lstrip("+-").isdigit():
            return f"pixel value '{token[:20]}' is not an integer"
    return f"expected {expected} pixel values, got {len(tokens)}"
