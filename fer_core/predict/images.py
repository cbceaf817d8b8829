"""Reading images robustly: any file OpenCV can decode, reported in one line when it cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_core.errors import DataError

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})


def read_image(path: str | Path) -> np.ndarray:
    """A BGR uint8 image (gray files come back as 3 equal channels, which gray models convert back exactly)."""
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DataError(f"{path}: not a readable image (corrupt, empty or unsupported format)")
    return image


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES
