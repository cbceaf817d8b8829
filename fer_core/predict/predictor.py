"""The Python API: ``Predictor.from_checkpoint(path).predict(image)`` -> one ``FacePrediction`` per face."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_core.api import Box, Detector
from fer_core.errors import DataError, FerError, UsageError
from fer_core.predict.align import CropGeometry, aligned_crop
from fer_core.predict.crops import crop_face
from fer_core.predict.images import as_image_array, read_image
from fer_core.predict.runtime import Runtime, check_runtime
from fer_core.preprocess import Preprocessing, conform_images, to_tensor

ImageInput = Any  # a path, a PIL.Image, a uint8 array, or a float array in [0, 1]
DEFAULT_BATCH = 32
AUTO = "auto"  # the default detector: the healthy installed one with the highest priority


@dataclass(frozen=True)
class FacePrediction:
    """One face: where (``box``, with the detector's score and landmarks), what, and in videos which ``track``."""

    box: Box
    label: str
    score: float
    probabilities: dict[str, float]
    track: int | None = None

    def to_dict(self) -> dict[str, Any]:
        box = asdict(self.box)
        box["landmarks"] = None if self.box.landmarks is None else [list(point) for point in self.box.landmarks]
        return {"box": box, "label": self.label, "score": self.score, "probabilities": dict(self.probabilities), "track": self.track}


class Predictor:
    """Detects faces, crops and preprocesses them as the checkpoint says, and classifies them in batches."""

    def __init__(
        self,
        runtime: Runtime,
        meta: dict[str, Any],
        detector: Detector | None,
        *,
        margin: float | None = None,
        align: bool = True,
        geometry: CropGeometry | None = None,
        batch_size: int = DEFAULT_BATCH,
        detector_name: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {batch_size}")
        if margin is not None and not 0.0 <= margin <= 1.0:
            raise UsageError(f"crop margin must be within [0, 1], got {margin}")
        self.runtime = runtime
        self.meta = meta
        self.detector = detector
        self.detector_name = detector_name or (type(detector).__name__ if detector is not None else None)
        geometry = geometry or CropGeometry.from_meta(meta, str(meta.get("exported_from", "checkpoint")))
        if margin is not None:
            geometry = CropGeometry(geometry.margin, geometry.offset, margin, geometry.align)
        if not align:
            geometry = CropGeometry(geometry.margin, geometry.offset, geometry.box_margin, False)
        self.geometry = geometry
        self.batch_size = batch_size
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        self.preprocessing = Preprocessing.from_dict(meta["preprocessing"])

    @property
    def margin(self) -> float:
        return self.geometry.box_margin

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        detector: str | Detector | None = AUTO,
        detector_options: dict[str, Any] | None = None,
        runtime: str = "auto",
        device: str = "cpu",
        margin: float | None = None,
        align: bool = True,
        batch_size: int = DEFAULT_BATCH,
    ) -> Predictor:
        """Load a fer checkpoint (``.safetensors`` path or installed weights name such as ``fer-fast``) or a ``fer export``
        ONNX file (which implies ``runtime="onnx"``).

        ``detector`` is a ``fer.detectors`` plugin name, ``"auto"`` (the highest-priority healthy detector: mtcnn when
        fer-mtcnn is installed, else haar), a ``Detector`` instance, or None to classify whole images.
        ``runtime`` ``"auto"`` is ONNX Runtime on the CPU when onnx and onnxruntime are installed, else torch.
        Faces with landmarks are aligned (``align=False`` turns it off); ``margin`` overrides the box margin used
        for detectors without landmarks.
        """
        from fer_core.predict.loading import load_runtime
        from fer_core.predict.weights import resolve_weights

        engine, meta = load_runtime(resolve_weights(path), check_runtime(runtime), device)
        name = resolve_detector_name(detector)
        made = make_detector(name if isinstance(detector, str) else detector, detector_options)
        return cls(engine, meta, made, margin=margin, align=align, batch_size=batch_size, detector_name=name)

    def predict(self, image: ImageInput, *, detect: bool = True) -> list[FacePrediction]:
        return self.predict_batch([image], detect=detect)[0]

    def predict_batch(self, images: Sequence[ImageInput], *, detect: bool = True) -> list[list[FacePrediction]]:
        """Faces of every image, in order; all crops go through the model together in batches of ``batch_size``."""
        results = self.predict_each(images, detect=detect)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results  # type: ignore[return-value]

    def predict_each(self, images: Sequence[ImageInput], *, detect: bool = True) -> list[list[FacePrediction] | FerError]:
        """Like ``predict_batch``, but an image that fails (unreadable, a detector's unusable box) gives its error in its
        place and the others go on. Usage errors (a wrong type) still raise."""
        prepared: list[tuple[list[Box], list[np.ndarray]] | FerError] = []
        for image in images:
            try:
                array = read_image(image) if isinstance(image, str | Path) else as_image_array(image)
                boxes = self.find_faces(array, detect=detect)
                prepared.append((boxes, [self.crop(array, box, detect=detect) for box in boxes]))
            except UsageError:
                raise
            except FerError as exc:
                prepared.append(exc)
        crops = [crop for item in prepared if not isinstance(item, FerError) for crop in item[1]]
        probabilities = self.classify(crops)
        results: list[list[FacePrediction] | FerError] = []
        start = 0
        for item in prepared:
            if isinstance(item, FerError):
                results.append(item)
                continue
            rows = probabilities[start : start + len(item[0])]
            start += len(item[0])
            if not np.isfinite(rows).all():
                results.append(DataError("the model's output is not finite (NaN or inf): are the checkpoint's weights damaged?"))
                continue
            results.append([self.describe(box, row) for box, row in zip(item[0], rows, strict=True)])
        return results

    def find_faces(self, image: np.ndarray, *, detect: bool = True) -> list[Box]:
        check_image(image)
        height, width = image.shape[:2]
        if not detect or self.detector is None:
            return [Box(0, 0, int(width), int(height))]
        try:
            boxes = list(self.detector.detect(image))
        except (UsageError, FerError):
            raise
        except Exception as exc:  # a third-party detector's own failure on this image
            raise DataError(f"detector '{self.detector_name}' failed on this image: {type(exc).__name__}: {exc}".splitlines()[0]) from None
        return [check_box(box, width, height, self.detector_name) for box in boxes]

    def crop(self, image: np.ndarray, box: Box, *, detect: bool = True) -> np.ndarray:
        if not detect or self.detector is None:
            return image
        if self.geometry.align and box.landmarks is not None and len(box.landmarks) == 5:
            return aligned_crop(image, box.landmarks, self.geometry.margin, self.geometry.offset)
        return crop_face(image, box, self.geometry.box_margin)

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


def resolve_detector_name(detector: str | Detector | None) -> str | None:
    """``"auto"`` -> the default detector's name; a name stays itself; an instance gives its class name."""
    if isinstance(detector, str):
        if detector.lower() == AUTO:
            from fer_core.predict.detectors import default_detector

            return default_detector()
        return detector
    return None if detector is None else type(detector).__name__


def make_detector(detector: str | Detector | None, options: dict[str, Any] | None = None) -> Detector | None:
    if detector is None or isinstance(detector, Detector):
        if options:
            raise UsageError("detector options need a detector name")
        return detector
    from fer_core.registry import get_registry

    if detector.lower() == AUTO:
        detector = resolve_detector_name(detector)
    return get_registry().create("detectors", detector, **(options or {}))


def check_box(box: Box, width: int, height: int, detector: str | None) -> Box:
    """A detector's box must be a ``Box`` of integers, at least 1x1, overlapping the image; else a one-line DataError."""
    name = detector or "detector"
    if not isinstance(box, Box):
        raise DataError(f"detector '{name}' returned {type(box).__name__}, not a fer_core.api.Box")
    values = (box.x, box.y, box.w, box.h)
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        raise DataError(f"detector '{name}' returned a box with non-integer coordinates {values}")
    if box.w < 1 or box.h < 1 or box.x >= width or box.y >= height or box.x + box.w <= 0 or box.y + box.h <= 0:
        raise DataError(f"detector '{name}' returned an unusable box x={box.x} y={box.y} w={box.w} h={box.h} for a {width}x{height} image")
    if box.landmarks is not None:
        points = np.asarray(box.landmarks, dtype=float) if len(box.landmarks) else np.zeros((0, 2))
        if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
            raise DataError(f"detector '{name}' returned malformed landmarks for box x={box.x} y={box.y}")
    return box


def check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise UsageError(f"expected a uint8 image or a float image in [0, 1], got {getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or min(image.shape[:2]) < 1:
        raise UsageError(f"expected an (H, W) gray or (H, W, 3) BGR image, got shape {image.shape}")
