"""Which detector `fer predict` uses (the declared ``priority``), and landmarks carried from a detector to the JSON."""

from __future__ import annotations

import json
from typing import ClassVar

import cv2
import numpy as np
import pytest

from fer_core.api import Box, Detector
from fer_core.errors import FerError
from fer_core.predict import Predictor
from fer_core.predict.detectors import HaarDetector, default_detector
from fer_core.predict.predictor import FacePrediction
from fer_core.registry import get_registry
from tests.cli_support import run_fer
from tests.predict_support import make_checkpoint

LANDMARKS = ((120.5, 110.25), (170.0, 111.0), (145.0, 140.0), (125.0, 165.0), (168.0, 166.0))


class Eager(Detector):
    description: ClassVar[str] = "test: outranks every shipped detector"
    priority: ClassVar[int] = 50

    def detect(self, image):
        return [Box(95, 80, 100, 110, score=0.97, landmarks=LANDMARKS)]


class Quiet(Detector):
    """Declares no priority: the API's 0, below the Haar fallback."""

    description: ClassVar[str] = "test: says nothing about its priority"

    def detect(self, image):
        return []


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt"))


BROKEN_SOURCE = """
raise ImportError("this detector's library is missing")

class Broken:
    priority = 100
"""


def test_priority_is_declared_by_the_detector_api():
    assert Detector.priority == 0 and Quiet.priority == 0
    assert HaarDetector.priority == 1
    mtcnn = get_registry().load("detectors", "mtcnn")
    assert mtcnn.status == "ok" and mtcnn.obj.priority > HaarDetector.priority


def test_mtcnn_is_the_default_when_installed(checkpoint):
    assert default_detector() == "mtcnn"
    assert Predictor.from_checkpoint(checkpoint, detector="auto").detector_name == "mtcnn"


def test_haar_is_the_fallback_without_mtcnn(bare_plugins):
    bare_plugins.add("detectors", "haar", HaarDetector, distribution="fer-core")
    bare_plugins.add("detectors", "quiet", Quiet)
    assert default_detector() == "haar"


def test_a_broken_detector_is_never_the_default_whatever_its_priority(bare_plugins):
    bare_plugins.add("detectors", "haar", HaarDetector, distribution="fer-core")
    bare_plugins.install("fer-broken", {"fer.detectors": {"broken": "broken_det:Broken"}}, {"broken_det": BROKEN_SOURCE})
    (broken,) = [e for e in get_registry().load_all("detectors") if e.name == "broken"]
    assert broken.status == "broken"
    assert default_detector() == "haar"


def test_a_detector_with_a_higher_priority_wins(plugins):
    plugins.add("detectors", "eager", Eager)
    assert default_detector() == "eager"


def test_no_healthy_detector_is_one_line(bare_plugins):
    with pytest.raises(FerError, match="no face detector is installed"):
        default_detector()


def test_landmarks_and_score_travel_from_the_box_to_the_prediction(plugins, checkpoint):
    plugins.add("detectors", "eager", Eager)
    (face,) = Predictor.from_checkpoint(checkpoint).predict(np.zeros((240, 320, 3), np.uint8))
    assert isinstance(face, FacePrediction)
    assert face.box.landmarks == LANDMARKS and face.box.score == 0.97
    box = face.to_dict()["box"]
    assert box["landmarks"] == [list(point) for point in LANDMARKS] and box["score"] == 0.97


def test_the_json_output_carries_landmarks_and_names_the_chosen_detector(plugins, checkpoint, monkeypatch, capsys, tmp_path):
    plugins.add("detectors", "eager", Eager)
    cv2.imwrite(str(tmp_path / "scene.png"), np.full((240, 320, 3), 90, np.uint8))
    code, out, err = run_fer(monkeypatch, capsys, "predict", str(tmp_path / "scene.png"), "-c", str(checkpoint), "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["detector"] == "eager"
    (face,) = document["results"][0]["faces"]
    assert face["box"] == {"x": 95, "y": 80, "w": 100, "h": 110, "score": 0.97, "landmarks": [list(p) for p in LANDMARKS]}

    code, out, err = run_fer(monkeypatch, capsys, "predict", str(tmp_path / "scene.png"), "-c", str(checkpoint), "--jsonl")
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["faces"][0]["box"]["landmarks"] == [list(p) for p in LANDMARKS]
