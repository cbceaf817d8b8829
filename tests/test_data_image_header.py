"""Image headers that declare more pixels than they hold are refused before decoding (a small PNG claiming
30000 x 30000 made `fer data info` allocate 1.8 GB; found by trying to break fer, issue 18)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fer_core.data.image_header import MAX_PIXELS, declared_size, too_many_pixels
from fer_core.data.images import DeclaredTooLarge, read_image
from fer_core.data.loading import load_dataset
from fer_core.errors import DataError


def _png_claiming(width: int, height: int) -> bytes:
    """A valid-looking PNG header with a few bytes of data: what a forged file looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare another size."""
    ok, encoded = cv2.imencode(".jpg", np.zeros((8, 8), np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif", ".bmp", ".webp"])
def test_the_declared_size_of_real_files_is_their_size(suffix):
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    if suffix == ".gif":
        header = b"GIF89a" + struct.pack("<HH", 53, 37) + b"\x00" * 10  # OpenCV 4 cannot write GIF
    else:
        ok, encoded = cv2.imencode(suffix, image)
        assert ok
        header = encoded.tobytes()
    assert declared_size(header) == (53, 37)


def test_a_lossless_webp_and_a_progressive_jpeg_are_sized_too():
    image = np.full((21, 34), 128, np.uint8)
    ok, lossless = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok and declared_size(lossless.tobytes()) == (34, 21)
    ok, progressive = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok and declared_size(progressive.tobytes()) == (34, 21)


@pytest.mark.parametrize("forged", [_png_claiming(30000, 30000), _jpeg_claiming(30000, 30000)])
def test_a_forged_header_is_refused_before_decoding(tmp_path, forged):
    path = tmp_path / "forged.img"
    path.write_bytes(forged)
    with pytest.raises(DeclaredTooLarge, match=r"image header claims \d+x\d+ pixels: more pixels than fer will decode"):
        read_image(str(path), cv2.IMREAD_GRAYSCALE)


def test_images_up_to_the_limit_are_decoded_as_before(tmp_path):
    assert too_many_pixels(_png_claiming(16384, 16384)) is None
    assert too_many_pixels(_png_claiming(16385, 16384)) is not None
    assert MAX_PIXELS == 16384 * 16384
    path = tmp_path / "ok.png"
    cv2.imwrite(str(path), np.zeros((40, 30), np.uint8))
    assert read_image(str(path), cv2.IMREAD_GRAYSCALE).shape == (40, 30)


def _folder_with(tmp_path: Path, forged: bytes) -> Path:
    root = tmp_path / "faces"
    for label in ("happy", "sad"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(root / label / f"{label}{i}.png"), np.full((48, 48), 40 * i, np.uint8))
    (root / "happy" / "bomb.png").write_bytes(forged)
    return root


def test_a_data_folder_with_a_forged_header_is_one_data_error_naming_the_file(tmp_path):
    root = _folder_with(tmp_path, _png_claiming(30000, 30000))
    with pytest.raises(DataError) as caught:
        load_dataset(str(root), cache=False, val_fraction=0.3)
    message = str(caught.value)
    assert "bomb.png" in message and "claims 30000x30000 pixels" in message and "\n" not in message


def test_on_bad_skip_leaves_the_forged_file_out(tmp_path):
    root = _folder_with(tmp_path, _png_claiming(30000, 30000))
    with pytest.warns(UserWarning, match="bomb.png"):
        dataset = load_dataset(str(root), cache=False, on_bad="skip", val_fraction=0.3)
    assert sum(len(split) for split in dataset.splits.values()) == 6


HEADS = [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBP"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(HEADS))
def test_any_bytes_give_a_size_or_none_never_an_error(tail, head):
    size = declared_size(head + tail)
    assert size is None or (len(size) == 2 and all(isinstance(v, int) and v >= 0 for v in size))
