"""The pixel size an image file's header declares, read before anything is decoded.

A file may claim far more pixels than it holds: an 875 KB PNG of zeros declares 30000 x 30000 and makes the decoder
allocate 900 MB (2.7 GB in colour) per file, under OpenCV's own limit of 2^30 pixels. ``too_many_pixels`` names
such a file from its first bytes (PNG, JPEG, GIF, BMP, WebP); other formats are left to OpenCV's limit.
"""

from __future__ import annotations

import struct

# 2^28 pixels (16384 x 16384, 268 megapixels): above every camera's photo, a quarter of OpenCV's limit.
MAX_PIXELS = 1 << 28
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, GIF, BMP or WebP file; None when it is none of them or the
    header is too short to say."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data.startswith(b"BM") and len(data) >= 26:
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp_size(data)
    except struct.error:
        return None
    return None


def too_many_pixels(data: bytes, limit: int = MAX_PIXELS) -> str | None:
    """Why the file is not decoded (its header declares more than ``limit`` pixels), or None."""
    size = declared_size(data)
    if size is None or size[0] * size[1] <= limit:
        return None
    width, height = size
    return f"image header claims {width}x{height} pixels: more pixels than fer will decode ({limit / 1e6:.0f} MP; forged or damaged header)"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or length < 2:  # image data starts before any frame header: not a JPEG we can size
            return None
        at += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if kind == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None
