"""The Python API: ``Predictor.from_checkpoint(path).predict(image)`` -> one ``FacePrediction`` per face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.api import Box, Detector
from fer_core.errors import UsageError
from fer_core.predict.crops import crop_face
from fer_core.predict.images import read_image
from fer_core.predict.runtime import Runtime, check_runtime
from fer_core.preprocess import Preprocessing, conform_images, to_tensor

ImageInput = np.ndarray | str | Path
DEFAULT_MARGIN = 0.1
DEFAULT_BATCH = 32


@dataclass(frozen=True)
class FacePrediction:
    box: Box
    label: str
    score: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"box": asdict(self.box), "label": self.label, "score": self.score, "probabilities": dict(self.probabilities)}


class Predictor:
    """Detects faces, crops and preprocesses them as the checkpoint says, and classifies them in batches."""

    def __init__(
        self,
        runtime: Runtime,
        meta: dict[str, Any],
        detector: Detector | None,
        *,
        margin: float = DEFAULT_MARGIN,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        if batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {batch_size}")
        if not 0.0 <= margin <= 1.0:
            raise UsageError(f"crop margin must be within [0, 1], got {margin}")
        self.runtime = runtime
        self.meta = meta
        self.detector = detector
        self.margin = margin
        self.batch_size = batch_size
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        self.preprocessing = Preprocessing.from_dict(meta["preprocessing"])

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        detector: str | Detector | None = "haar",
        detector_options: dict[str, Any] | None = None,
        runtime: str = "torch",
        device: str = "cpu",
        margin: float = DEFAULT_MARGIN,
        batch_size: int = DEFAULT_BATCH,
    ) -> Predictor:
        """Load a fer checkpoint (``.safetensors``) or a ``fer export`` ONNX file (which implies ``runtime="onnx"``).

        ``detector`` is a ``fer.detectors`` plugin name, a ``Detector`` instance, or None to classify whole images.
        """
        from fer_core.predict.loading import load_runtime

        engine, meta = load_runtime(path, check_runtime(runtime), device)
        return cls(engine, meta, make_detector(detector, detector_options), margin=margin, batch_size=batch_size)

    def predict(self, image: ImageInput, *, detect: bool = True) -> list[FacePrediction]:
        return self.predict_batch([image], detect=detect)[0]

    def predict_batch(self, images: Sequence[ImageInput], *, detect: bool = True) -> list[list[FacePrediction]]:
        """Faces of every image, in order; all crops go through the model together in batches of ``batch_size``."""
        arrays = [read_image(image) if isinstance(image, str | Path) else image for image in images]
        boxes = [self.find_faces(image, detect=detect) for image in arrays]
        crops = [self.crop(image, box, detect=detect) for image, image_boxes in zip(arrays, boxes, strict=True) for box in image_boxes]
        probabilities = self.classify(crops)
        results: list[list[FacePrediction]] = []
        start = 0
        for image_boxes in boxes:
            rows = probabilities[start : start + len(image_boxes)]
            results.append([self.describe(box, row) for box, row in zip(image_boxes, rows, strict=True)])
            start += len(image_boxes)
        return results

    def find_faces(self, image: np.ndarray, *, detect: bool = True) -> list[Box]:
        check_image(image)
        if not detect or self.detector is None:
            return [Box(0, 0, int(image.shape[1]), int(image.shape[0]))]
        return list(self.detector.detect(image))

    def crop(self, image: np.ndarray, box: Box, *, detect: bool = True) -> np.ndarray:
        if not detect or self.detector is None:
            return image
        return crop_face(image, box, self.margin)

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 crops of any size -> the float32 (N, C, H, W) batch the checkpoint was trained on."""
        prep = self.preprocessing
        conformed = [conform_images(crop[None], prep.channels, prep.size)[0] for crop in crops]
        return to_tensor(np.stack(conformed), prep).numpy()

    def classify(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, len(self.classes)), np.float32)
        chunks = [self.runtime(self.preprocess(crops[i : i + self.batch_size])) for i in range(0, len(crops), self.batch_size)]
        return np.concatenate(chunks)

    def describe(self, box: Box, probabilities: np.ndarray) -> FacePrediction:
        best = int(np.argmax(probabilities))
        named = {name: float(p) for name, p in zip(self.classes, probabilities, strict=True)}
        return FacePrediction(box=box, label=self.classes[best], score=float(probabilities[best]), probabilities=named)


def make_detector(detector: str | Detector | None, options: dict[str, Any] | None = None) -> Detector | None:
    if detector is None or isinstance(detector, Detector):
        if options:
            raise UsageError("detector options need a detector name")
        return detector
    from fer_core.registry import get_registry

    return get_registry().create("detectors", detector, **(options or {}))


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise UsageError(f"expected a uint8 numpy image, got {getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or min(image.shape[:2]) < 1:
        raise UsageError(f"expected an (H, W) gray or (H, W, 3) BGR image, got shape {image.shape}")
