"""Reading images robustly: any file OpenCV can decode, reported in one line when it cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_core.errors import DataError

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
# What OpenCV decodes (cv2.imdecode); other files found inside a folder are skipped and counted, not failures.
IMAGE_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".bmp",
        ".dib",
        ".webp",
        ".tif",
        ".tiff",
        ".pgm",
        ".ppm",
        ".pbm",
        ".pnm",
        ".jp2",
        ".sr",
        ".ras",
        ".exr",
        ".hdr",
        ".pic",
    }
)


def read_image(path: str | Path) -> np.ndarray:
    """A BGR uint8 image (gray files come back as 3 equal channels, which gray models convert back exactly)."""
    import cv2

    from fer_core.data.images import decode_problem
    from fer_core.data.images import read_image as decode_file

    try:
        image = decode_file(str(path), cv2.IMREAD_COLOR)
    except (OSError, cv2.error, MemoryError) as exc:  # unreadable, or a header claiming more than CV_IO_MAX_IMAGE_PIXELS
        raise DataError(f"{path}: not a readable image ({decode_problem(exc)})") from None
    if image is None:
        raise DataError(f"{path}: not a readable image (corrupt, empty or unsupported format)")
    return image


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def is_media(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or is_video(path)


def as_image_array(image: object) -> np.ndarray:
    """What the Python API accepts as an image, as fer's internal uint8 gray (H, W) or BGR (H, W, 3) array.

    A ``PIL.Image`` (converted from RGB to BGR), a uint8 array, or a float array with values in [0, 1] (as
    matplotlib and scikit-image hand them out; scaled to 0..255). Anything else is a one-line ``UsageError``.
    """
    from fer_core.errors import UsageError

    if not isinstance(image, np.ndarray):
        if type(image).__module__.startswith("PIL."):
            return pil_to_array(image)
        raise UsageError(f"expected an image path, a PIL.Image or a numpy array, got {type(image).__name__}")
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind == "f":
        finite = np.isfinite(image).all()
        if not finite or (image.size and (float(image.min()) < 0.0 or float(image.max()) > 1.0)):
            raise UsageError("a float image must hold finite values in [0, 1] (or pass uint8 0..255)")
        return np.round(image * 255.0).astype(np.uint8)
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    raise UsageError(f"expected a uint8 image or a float image in [0, 1], got dtype {image.dtype}")


def pil_to_array(image: object) -> np.ndarray:
    mode = getattr(image, "mode", "")
    if mode in ("L", "1", "I;16", "I", "F"):
        return np.asarray(image.convert("L"))  # type: ignore[attr-defined]
    rgb = np.asarray(image.convert("RGB"))  # type: ignore[attr-defined]
    return np.ascontiguousarray(rgb[..., ::-1])
