"""Hostile data: forged headers, odd links and names, degenerate CSVs and options end in one line or are handled."""

from __future__ import annotations

import os
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from fer_core.data.fer2013_csv import read_fer_csv, write_fer_csv
from fer_core.data.images import DataWarning
from fer_core.data.loading import load_dataset
from fer_core.errors import DataError, UsageError
from tests.cli_support import run_fer
from tests.data_support import make_label_folder


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def forged_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], err


def test_a_forged_image_header_is_a_bad_file_not_an_opencv_traceback(tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    (root / "happy" / "huge.png").write_bytes(forged_png(100_000, 100_000))
    with pytest.raises(DataError, match=r"huge\.png: image header claims \d+x\d+ pixels: more pixels than fer will decode"):
        load_dataset(root)
    with pytest.warns(DataWarning, match="huge.png"):
        dataset = load_dataset(root, on_bad="skip", val_fraction=0)
    assert len(dataset.splits["train"]) == 6
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root))
    one_line_error(code, err, "huge.png")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root), "--on-bad", "skip", "--no-duplicates")
    assert code == 0 and "huge.png" in err


def test_broken_and_looping_symlinks_are_bad_files(tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    os.symlink("nowhere.png", root / "happy" / "broken.png")
    os.symlink("loop.png", root / "happy" / "loop.png")
    os.symlink("angry", root / "angry")  # a class folder that is a link to itself
    with pytest.raises(DataError) as raised:
        load_dataset(root)
    message = str(raised.value)
    assert "broken.png: broken symbolic link" in message and "loop.png: symbolic link loop" in message
    assert f"{root / 'angry'}: symbolic link loop" in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        dataset = load_dataset(root, on_bad="skip", val_fraction=0)
    assert len(dataset.splits["train"]) == 6
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root))
    one_line_error(code, err, "symbolic link")


def test_file_names_that_are_not_utf8_are_read_and_cached(tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    odd = os.fsencode(root / "sad") + b"/\xff\xfe.png"
    with open(odd, "wb") as handle:
        handle.write((root / "sad" / "img000.png").read_bytes())
    first = load_dataset(root, val_fraction=0)
    second = load_dataset(root, val_fraction=0)
    assert len(first.splits["train"]) == 7 and first.meta["cache_hit"] is False and second.meta["cache_hit"] is True
    assert np.array_equal(first.splits["train"].images, second.splits["train"].images)
    with open(odd, "wb") as handle:
        handle.write(b"not an image")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root))
    one_line_error(code, err, "cannot decode image", "\\xff\\xfe.png")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root), "--on-bad", "skip", "--no-duplicates")
    assert code == 0 and "\\xff\\xfe.png" in err


def test_an_empty_csv_is_one_line_whether_detected_or_forced(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="the file is empty"):
        load_dataset(f"fer2013:{empty}")
    with pytest.raises(DataError, match="the file is empty"):
        load_dataset(empty)
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", f"fer2013:{empty}")
    one_line_error(code, err, "empty")


def _pixels(n: int, rng: np.random.Generator) -> str:
    return " ".join(map(str, rng.integers(0, 256, n)))


def test_a_huge_first_row_never_sizes_the_allocation(tmp_path):
    """A 1000x1000 first row and 150,000 one-value rows asked for 150,000 x 1 MB before; now row 0 is blamed at once."""
    path = tmp_path / "bomb.csv"
    with open(path, "w") as handle:
        handle.write("emotion,pixels,Usage\n3," + " ".join(["0"] * 1_000_000) + ",Training\n")
        handle.write("3,0,Training\n" * 150_000)
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"row 0 \(line 2\): expected 1 pixel values, got 1000000"):
        read_fer_csv(path)
    assert time.perf_counter() - started < 20


def test_the_allocation_is_bounded_by_what_the_file_can_hold(tmp_path):
    """One valid 1000x1000 row followed by 200,000 blank lines: the line count would ask for 200 GB."""
    path = tmp_path / "tall.csv"
    rng = np.random.default_rng(0)
    path.write_text("emotion,pixels,Usage\n3," + _pixels(1_000_000, rng) + ",Training\n" + "\n" * 200_000)
    table = read_fer_csv(path)
    assert table.images.shape == (1, 1000, 1000)
    assert table.images.base is None or table.images.base.nbytes < 10_000_000


def test_a_byte_order_mark_is_detected_as_fer2013(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    plain = tmp_path / "plain.csv"
    write_fer_csv(plain, images, np.arange(6) % 7, np.array(["train"] * 6))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    dataset = load_dataset(bom, val_fraction=0)
    assert dataset.name == "fer2013" and np.array_equal(dataset.splits["train"].images, images)


def test_a_wrong_sized_first_row_is_blamed_itself(tmp_path):
    rng = np.random.default_rng(2)
    rows = [f"3,{_pixels(2500, rng)},Training"] + [f"3,{_pixels(2304, rng)},Training" for _ in range(5)]
    path = tmp_path / "first.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"row 0 \(line 2\): expected 2304 pixel values, got 2500"):
        read_fer_csv(path)


def test_trailing_blank_lines_are_fine_and_a_blank_line_inside_is_named(tmp_path):
    rng = np.random.default_rng(3)
    rows = [f"{i % 7},{_pixels(16, rng)},Training" for i in range(4)]
    path = tmp_path / "trailing.csv"
    path.write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n\n \n")
    assert len(read_fer_csv(path)) == 4
    inside = tmp_path / "inside.csv"
    inside.write_text("emotion,pixels,Usage\n" + "\n".join(rows[:2]) + "\n\n" + "\n".join(rows[2:]) + "\n")
    with pytest.raises(DataError, match=r"row 2 \(line 4\): empty line inside the data"):
        read_fer_csv(inside)


@pytest.mark.parametrize("fraction", [0.99, 0.9999])
def test_a_val_fraction_that_leaves_train_empty_is_one_line(tmp_path, monkeypatch, capsys, fraction):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    with pytest.raises(DataError, match="leaves an empty split"):
        load_dataset(root, val_fraction=fraction)
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root), "--val-fraction", str(fraction))
    one_line_error(code, err, "val_fraction", "empty split")


def test_a_small_val_fraction_still_holds_out_one_image(tmp_path):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    dataset = load_dataset(root, val_fraction=0.01)
    assert len(dataset.splits["val"]) == 1 and len(dataset.splits["train"]) == 5


def test_unknown_data_options_are_refused_with_the_closest_match():
    with pytest.raises(UsageError, match=r"unknown option 'trian'; valid: .*\(did you mean 'train'\?\)"):
        load_dataset("demo", options={"trian": 30})
    with pytest.raises(UsageError, match="unknown option 'channels'"):
        load_dataset("demo", options={"channels": 3})
    with pytest.raises(UsageError, match=r"option 'seed' expects an integer, got 'abc'"):
        load_dataset("demo", options={"seed": "abc"})
    with pytest.raises(UsageError, match="train must be at least 2"):
        load_dataset("demo", options={"train": -5})


def test_an_option_one_part_of_a_merge_declares_is_accepted(tmp_path):
    root = make_label_folder(tmp_path / "data", {"happy": 4, "sad": 4}, shape=(32, 32))
    dataset = load_dataset(f"{root}+demo", options={"train": 14, "val": 7, "test": 0, "channels": 1})
    assert set(dataset.classes) >= {"happy", "sad"}


@pytest.mark.parametrize("word", ["no", "off", "false", "0"])
def test_cache_no_means_off(tmp_path, word):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    cache = tmp_path / "explicit-cache"
    dataset = load_dataset(root, options={"cache": word, "cache_dir": str(cache)}, val_fraction=0)
    assert dataset.meta["cache_hit"] is False and not cache.exists()
    load_dataset(root, options={"cache": "yes", "cache_dir": str(cache)}, val_fraction=0)
    assert any(Path(cache).rglob("*.npz"))


def test_a_file_name_with_a_newline_stays_one_error_line():
    from fer_core.errors import DataError

    message = str(DataError("bad image folder/happy/\n\r.png: cannot decode image"))
    assert message == "bad image folder/happy/\\x0a\\x0d.png: cannot decode image"
