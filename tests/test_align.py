"""Aligned crops: eyes level and where the geometry says, the geometry read from a checkpoint, the default otherwise."""

from __future__ import annotations

import math
from typing import ClassVar

import cv2
import numpy as np
import pytest

from fer_core.api import Box, Detector
from fer_core.checkpoint import save_checkpoint
from fer_core.errors import CheckpointError
from fer_core.predict import Predictor
from fer_core.predict.align import DEFAULT_GEOMETRY, FACE_SCALE, CropGeometry, aligned_crop, face_frame, transform_points
from fer_core.predict.crops import crop_face
from fer_core.registry import get_registry
from tests.predict_support import checkpoint_meta, make_checkpoint

EYE_DISTANCE, MOUTH_DISTANCE = 40.0, 44.0


def face_landmarks(centre: tuple[float, float], angle_deg: float) -> np.ndarray:
    """Five landmarks of a face whose eyes' midpoint is ``centre``, turned by ``angle_deg`` (image coordinates)."""
    d, m = EYE_DISTANCE, MOUTH_DISTANCE
    upright = np.array([(-d / 2, 0.0), (d / 2, 0.0), (0.0, m / 2), (-d / 3, m), (d / 3, m)])
    a = math.radians(angle_deg)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return upright @ rotation.T + np.asarray(centre)


def eyes_image(landmarks: np.ndarray, shape: tuple[int, int] = (300, 320)) -> np.ndarray:
    """Black, with a bright disk on each eye and dimmer ones on the nose and mouth corners."""
    image = np.zeros(shape, np.uint8)
    for index, (x, y) in enumerate(landmarks):
        cv2.circle(image, (round(x * 16), round(y * 16)), 4 * 16, 255 if index < 2 else 100, -1, cv2.LINE_AA, shift=4)
    return image


def bright_centroids(crop: np.ndarray) -> list[tuple[float, float]]:
    """Centroids of the two bright disks (the eyes), left one first."""
    count, labels = cv2.connectedComponents((crop > 180).astype(np.uint8))
    assert count == 3, f"expected two eye blobs, found {count - 1}"
    centres = []
    for label in (1, 2):
        ys, xs = np.nonzero(labels == label)
        weights = crop[ys, xs].astype(float)
        centres.append((float((xs * weights).sum() / weights.sum()), float((ys * weights).sum() / weights.sum())))
    return sorted(centres)


def expected_eyes(margin: float, offset: float) -> tuple[float, list[tuple[float, float]]]:
    """Where the geometry puts the eyes in the crop: the square's side, and the two eye positions."""
    face = FACE_SCALE * max(EYE_DISTANCE, MOUTH_DISTANCE)
    side = face * (1 + 2 * margin)
    eye_y = side / 2 - MOUTH_DISTANCE / 2 + offset * face  # the crop's centre lies between eyes and mouth, moved up
    return side, [(side / 2 - EYE_DISTANCE / 2, eye_y), (side / 2 + EYE_DISTANCE / 2, eye_y)]


@pytest.mark.parametrize("angle", [0.0, 17.0, -30.0])
@pytest.mark.parametrize(("margin", "offset"), [(0.0, 0.0), (0.2, 0.05), (0.35, 0.12), (0.1, -0.05)])
def test_aligned_eyes_are_level_and_where_the_geometry_puts_them(angle, margin, offset):
    landmarks = face_landmarks((160.0, 130.0), angle)
    crop = aligned_crop(eyes_image(landmarks), landmarks, margin, offset)
    side, (left, right) = expected_eyes(margin, offset)
    assert crop.shape == (round(side), round(side))
    (found_left, found_right) = bright_centroids(crop)
    assert found_left[1] == pytest.approx(found_right[1], abs=0.5)  # level
    shift = (round(side) - side) / 2  # the crop is the rounded square around the same centre
    assert found_left == pytest.approx((left[0] + shift, left[1] + shift), abs=0.6)
    assert found_right == pytest.approx((right[0] + shift, right[1] + shift), abs=0.6)


def test_the_frame_maps_landmarks_exactly():
    landmarks = face_landmarks((90.0, 70.0), 25.0)
    frame = face_frame(landmarks, margin=0.25, offset=0.1)
    mapped = transform_points(frame.matrix(), landmarks)
    side, eyes = expected_eyes(0.25, 0.1)
    assert frame.side == pytest.approx(side) and frame.angle == pytest.approx(math.radians(25.0))
    assert mapped[:2] == pytest.approx(np.array(eyes), abs=1e-9)
    assert mapped[3, 1] == pytest.approx(mapped[4, 1])  # the mouth is level too


def test_a_turned_head_keeps_its_scale_from_the_eye_to_mouth_distance():
    frontal = face_frame(face_landmarks((100.0, 100.0), 0.0), 0.2, 0.05)
    turned = face_landmarks((100.0, 100.0), 0.0)
    turned[:, 0] = 100.0 + (turned[:, 0] - 100.0) * 0.5  # profile-ish: the eyes half as far apart
    assert face_frame(turned, 0.2, 0.05).side == pytest.approx(frontal.side)


def test_outside_the_image_the_border_is_replicated():
    landmarks = face_landmarks((25.0, 25.0), 0.0)  # the crop reaches past the top-left corner
    image = np.full((120, 120), 77, np.uint8)
    crop = aligned_crop(image, landmarks, 0.3, 0.1)
    assert crop.shape[0] > 100 and (crop == 77).all()


def test_bad_landmarks_are_refused():
    with pytest.raises(ValueError, match="five"):
        face_frame([(1.0, 2.0), (3.0, 4.0)], 0.2, 0.05)
    with pytest.raises(ValueError, match="five"):
        face_frame([(1.0, float("nan"))] * 5, 0.2, 0.05)


def crop_meta(**crop) -> dict:
    meta = checkpoint_meta()
    meta["preprocessing"] = {**meta["preprocessing"], "crop": crop}
    return meta


def test_a_checkpoint_states_its_own_crop_geometry(tmp_path):
    model = get_registry().create("models", "mycnn_v1").build(7, 1, 48)
    path = save_checkpoint(tmp_path / "tight", model, crop_meta(margin=0.0, offset=0.1, box_margin=0.0))
    predictor = Predictor.from_checkpoint(path, detector=None)
    assert predictor.geometry == CropGeometry(margin=0.0, offset=0.1, box_margin=0.0, align=True)


def test_old_checkpoints_get_the_default_geometry(tmp_path):
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path), detector=None)
    assert predictor.geometry == DEFAULT_GEOMETRY
    assert CropGeometry.from_meta({"preprocessing": {"channels": 1}}) == DEFAULT_GEOMETRY


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        ("tight", "must be an object"),
        ({"margin": "wide"}, "margin must be a finite number"),
        ({"margin": float("nan")}, "margin must be a finite number"),
        ({"offset": 3.0}, "out of range"),
        ({"align": "yes"}, "align must be true or false"),
    ],
)
def test_malformed_crop_metadata_is_one_line(crop, message):
    meta = checkpoint_meta()
    meta["preprocessing"] = {**meta["preprocessing"], "crop": crop}
    with pytest.raises(CheckpointError, match=message) as caught:
        CropGeometry.from_meta(meta, "my.safetensors")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("my.safetensors")


class LandmarkDetector(Detector):
    """One face with five landmarks (those of ``face_landmarks`` at 20 degrees)."""

    description: ClassVar[str] = "test: one box with landmarks"
    landmarks: ClassVar[np.ndarray] = face_landmarks((160.0, 130.0), 20.0)

    def detect(self, image):
        return [Box(110, 80, 100, 110, score=0.99, landmarks=tuple(map(tuple, self.landmarks)))]


def test_the_predictor_aligns_faces_with_landmarks_and_crops_boxes_without(plugins, tmp_path):
    plugins.add("detectors", "landmarks", LandmarkDetector)
    image = eyes_image(LandmarkDetector.landmarks)
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path), detector="landmarks")
    (box,) = predictor.find_faces(image)
    geometry = predictor.geometry
    assert np.array_equal(predictor.crop(image, box), aligned_crop(image, box.landmarks, geometry.margin, geometry.offset))
    unaligned = Predictor.from_checkpoint(make_checkpoint(tmp_path), detector="landmarks", align=False)
    assert np.array_equal(unaligned.crop(image, box), crop_face(image, box, geometry.box_margin))
