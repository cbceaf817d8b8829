"""Face detectors shipped with fer-core. Others plug in through the ``fer.detectors`` entry-point group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fer_core.api import Box, Detector
from fer_core.errors import FerError, UsageError

if TYPE_CHECKING:
    from fer_core.registry import Registry

HAAR_CASCADE = "haarcascade_frontalface_default.xml"


class HaarDetector(Detector):
    """OpenCV's frontal-face Haar cascade (ships inside opencv-python 4.x, no download)."""

    description: ClassVar[str] = "OpenCV Haar cascade, frontal faces; no confidence, no landmarks; the dependency-free fallback."
    priority: ClassVar[int] = 1  # above a plugin that declares nothing, below any real detector (fer-mtcnn: 10)

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 30, equalize: bool = True) -> None:
        super().__init__(scale_factor=scale_factor, min_neighbors=min_neighbors, min_size=min_size, equalize=equalize)
        if float(scale_factor) <= 1.0:
            raise UsageError(f"haar scale_factor must be > 1, got {scale_factor}")
        if int(min_neighbors) < 0 or int(min_size) < 1:
            raise UsageError("haar min_neighbors must be >= 0 and min_size >= 1")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = int(min_size)
        self.equalize = bool(equalize)
        self._cascade = load_haar_cascade()

    def detect(self, image: np.ndarray) -> list[Box]:
        import cv2

        gray = to_gray(image)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        found = self._cascade.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(self.min_size, self.min_size)
        )
        # The cascade gives no confidence: score None says so (API-1 plugins that give none default to 1.0).
        boxes = [Box(int(x), int(y), int(w), int(h), score=None) for x, y, w, h in np.asarray(found).reshape(-1, 4)]
        return sorted(boxes, key=lambda b: b.w * b.h, reverse=True)


def default_detector(registry: Registry | None = None) -> str:
    """The name of the healthy installed detector with the highest ``priority`` (ties: alphabetical)."""
    from fer_core.registry import get_registry

    registry = registry or get_registry()
    ranked = []
    for entry in registry.load_all("detectors"):
        if entry.status != "ok" or entry.is_namespace:
            continue
        priority = getattr(entry.obj, "priority", 0)
        ranked.append((-(priority if isinstance(priority, int) else 0), entry.name.lower(), entry.name))
    if not ranked:
        raise FerError("no face detector is installed and healthy (`fer list detectors`); reinstall fer-core")
    return min(ranked)[2]


def load_haar_cascade() -> Any:
    import cv2

    data = getattr(cv2, "data", None)
    if data is None or not hasattr(cv2, "CascadeClassifier"):
        raise FerError(
            f"this OpenCV ({cv2.__version__}) has no bundled Haar cascades (OpenCV 5 moved them out); "
            "install 'opencv-python-headless<5' or choose another detector with --detector"
        )
    cascade = cv2.CascadeClassifier(data.haarcascades + HAAR_CASCADE)
    if cascade.empty():
        raise FerError(f"could not load {HAAR_CASCADE} from {data.haarcascades}; reinstall 'opencv-python-headless<5'")
    return cascade


def to_gray(image: np.ndarray) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2GRAY)
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")
