"""fer-mtcnn: options, and MTCNN's raw output turned into fer boxes (confidence, five landmarks, clipped, sorted)."""

from __future__ import annotations

import numpy as np
import pytest

from fer_core.api import Box
from fer_core.errors import UsageError
from fer_core.registry import get_registry

fer_mtcnn = pytest.importorskip("fer_mtcnn")
MtcnnDetector = fer_mtcnn.MtcnnDetector


@pytest.fixture(scope="module")
def detector():
    return MtcnnDetector()


def marks(x: float, y: float) -> np.ndarray:
    return np.array([[x, y], [x + 30, y], [x + 15, y + 15], [x + 5, y + 30], [x + 25, y + 30]], dtype=np.float32)


class FakeNet:
    """Stands in for facenet-pytorch's MTCNN: records the image it got and returns fixed detections."""

    def __init__(self, boxes, probs, points) -> None:
        self.result = (boxes, probs, points)
        self.seen: list[np.ndarray] = []

    def detect(self, image, landmarks=True):
        self.seen.append(image)
        return self.result


def test_it_is_registered_with_its_priority_and_options():
    made = get_registry().create("detectors", "mtcnn", min_size=40, threshold=0.95)
    assert isinstance(made, MtcnnDetector) and made.min_size == 40 and made.threshold == 0.95
    assert MtcnnDetector.priority == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_size": 8}, "min_size must be >= 12"),
        ({"threshold": 1.5}, "within \\[0, 1\\]"),
        ({"stage_thresholds": [0.6, 0.7]}, "within \\[0, 1\\]"),
        ({"factor": 1.0}, "factor must be within"),
        ({"device": "cuda:99"}, "not usable here"),
    ],
)
def test_bad_options_are_one_line_usage_errors(options, message):
    with pytest.raises(UsageError, match=message) as caught:
        MtcnnDetector(**options)
    assert "\n" not in str(caught.value)


def test_raw_detections_become_clipped_sorted_boxes_with_landmarks(detector, monkeypatch):
    boxes = np.array([[10.2, 20.7, 60.1, 80.0], [-5.0, 100.0, 150.4, 260.0], [200.0, 10.0, 240.0, 60.0], [300.0, 5.0, 301.0, 6.0]])
    probs = np.array([0.99, 0.95, 0.5, 0.99])  # the third is under the threshold, the fourth is left with nothing
    points = np.stack([marks(20, 40), marks(30, 150), marks(210, 20), marks(300, 5)])
    net = FakeNet(boxes, probs, points)
    monkeypatch.setattr(detector, "_mtcnn", net)
    image = np.zeros((240, 300, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    found = detector.detect(image)
    assert net.seen[0][0, 0].tolist() == [0, 0, 255]  # MTCNN is handed RGB
    assert [(b.x, b.y, b.w, b.h) for b in found] == [(0, 100, 151, 140), (10, 20, 51, 60)]  # largest first, clipped
    assert [b.score for b in found] == [pytest.approx(0.95), pytest.approx(0.99)]
    assert all(isinstance(b, Box) and len(b.landmarks) == 5 for b in found)
    assert found[1].landmarks[0] == (20.0, 40.0) and found[1].landmarks[4] == (45.0, 70.0)


def test_no_detection_is_an_empty_list(detector, monkeypatch):
    monkeypatch.setattr(detector, "_mtcnn", FakeNet(None, [None], None))
    assert detector.detect(np.zeros((50, 50), np.uint8)) == []


def test_non_finite_landmarks_are_dropped_but_the_box_stays(detector, monkeypatch):
    points = marks(20, 40)[None].copy()
    points[0, 2, 0] = np.nan
    monkeypatch.setattr(detector, "_mtcnn", FakeNet(np.array([[10.0, 10.0, 60.0, 70.0]]), np.array([0.98]), points))
    (box,) = detector.detect(np.zeros((100, 100), np.uint8))
    assert box.landmarks is None and box.score == pytest.approx(0.98)


def test_the_real_networks_find_nothing_on_a_blank_or_gray_image(detector):
    assert detector.detect(np.full((120, 160, 3), 128, np.uint8)) == []
    assert detector.detect(np.zeros((90, 90), np.uint8)) == []
