"""The Python prediction API: detection, crops, preprocessing, typed results, batching, bad inputs."""

from __future__ import annotations

import sys
from typing import ClassVar

import cv2
import numpy as np
import pytest
import torch

import fer_core
from fer_core.api import Box, Detector
from fer_core.checkpoint import load_checkpoint
from fer_core.errors import CheckpointError, DataError, FerError, UnknownPluginError, UsageError
from fer_core.predict import FacePrediction, Predictor
from fer_core.predict.crops import crop_face
from fer_core.predict.detectors import HaarDetector
from fer_core.predict.scenes import face_scene
from fer_core.preprocess import Preprocessing, conform_images, to_tensor
from fer_core.registry import get_registry
from tests.predict_support import CLASSES, iou, make_checkpoint, make_probe_checkpoint, write_corrupt_jpeg


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def predictor(checkpoint):
    """Haar, so that the drawn test face's box is exactly where it was pasted (MTCNN's own tests are in test_predict_mtcnn)."""
    return Predictor.from_checkpoint(checkpoint, detector="haar")


@pytest.mark.parametrize("color", [True, False])
def test_haar_finds_a_pasted_face_where_it_was_pasted(color):
    image, truth = face_scene(width=360, height=260, face_size=110, at=(190, 80), color=color)
    boxes = HaarDetector().detect(image)
    assert len(boxes) == 1
    assert iou(boxes[0], truth) > 0.8


def test_haar_finds_no_face_on_blank_or_noise():
    rng = np.random.default_rng(0)
    assert HaarDetector().detect(np.full((200, 300, 3), 128, np.uint8)) == []
    assert HaarDetector().detect(rng.integers(0, 256, (200, 300), dtype=np.uint8)) == []


def test_haar_is_the_registered_haar_detector_and_checks_its_options():
    assert isinstance(get_registry().create("detectors", "haar", min_size=40), HaarDetector)
    with pytest.raises(UsageError, match="scale_factor"):
        HaarDetector(scale_factor=1.0)
    with pytest.raises((UsageError, UnknownPluginError), match="window"):
        get_registry().create("detectors", "haar", window=3)


def test_haar_boxes_say_they_carry_no_confidence():
    image, _ = face_scene()
    (box,) = HaarDetector().detect(image)
    assert box.score is None and box.landmarks is None


def test_haar_explains_what_to_do_when_opencv_has_no_cascades(monkeypatch):
    monkeypatch.delattr(cv2, "data")
    with pytest.raises(FerError, match=r"opencv-python-headless<5"):
        HaarDetector()


def test_predictor_is_exported_lazily_from_fer_core():
    assert fer_core.Predictor is Predictor


def test_predict_returns_one_typed_result_at_the_face(predictor):
    image, truth = face_scene()
    faces = predictor.predict(image)
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, FacePrediction) and isinstance(face.box, Box)
    assert iou(face.box, truth) > 0.8
    assert list(face.probabilities) == list(CLASSES)
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.label == max(face.probabilities, key=face.probabilities.get)
    assert face.score == face.probabilities[face.label]
    assert set(face.to_dict()) == {"box", "label", "score", "probabilities", "track"}
    assert face.to_dict()["track"] is None and face.to_dict()["box"]["landmarks"] is None


def test_predict_says_no_face_with_an_empty_list(predictor):
    assert predictor.predict(np.full((240, 320, 3), 90, np.uint8)) == []


def test_the_head_decides_the_label(tmp_path):
    happy = Predictor.from_checkpoint(make_checkpoint(tmp_path, favour="happy"), detector="haar")
    (face,) = happy.predict(face_scene()[0])
    assert face.label == "happy" and face.score > 0.9


def test_crops_are_preprocessed_exactly_as_the_sidecar_says(tmp_path):
    """A 3-channel, 40-pixel checkpoint with its own mean/std: the predictor must feed what we compute by hand."""
    prep = Preprocessing(channels=3, size=40, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3))
    weights = make_checkpoint(tmp_path, channels=3, size=40, prep=prep)
    predictor = Predictor.from_checkpoint(weights, margin=0.2, detector="haar")
    image = face_scene(color=False)[0]  # gray photo into an RGB model
    (face,) = predictor.predict(image)
    model, _ = load_checkpoint(weights)
    crop = crop_face(image, face.box, margin=0.2)
    with torch.no_grad():
        expected = torch.softmax(model(to_tensor(conform_images(crop[None], 3, 40), prep)), dim=1)[0].numpy()
    assert np.allclose(list(face.probabilities.values()), expected, atol=1e-6)


def test_batches_keep_every_image_in_its_place(tmp_path):
    predictor = Predictor.from_checkpoint(make_probe_checkpoint(tmp_path), detector=None, batch_size=2)
    levels = [250, 10, 20, 240, 230, 5, 200]
    images = [np.full((30 + i, 40, 3), level, np.uint8) for i, level in enumerate(levels)]
    results = predictor.predict_batch(images)
    assert [faces[0].label for faces in results] == ["bright" if level > 127 else "dark" for level in levels]
    assert [faces[0].box for faces in results] == [Box(0, 0, 40, 30 + i) for i in range(len(levels))]
    batched = [list(faces[0].probabilities.values()) for faces in results]
    one_by_one = [list(predictor.predict(image)[0].probabilities.values()) for image in images]
    assert np.allclose(batched, one_by_one, atol=1e-6)
    assert len({round(row[1], 4) for row in batched}) == len(set(levels))  # distinct inputs, distinct outputs


def test_no_detect_classifies_the_whole_image(predictor):
    image = face_scene()[0]
    (face,) = predictor.predict(image, detect=False)
    assert face.box == Box(0, 0, image.shape[1], image.shape[0])


def test_a_detector_plugin_registered_at_runtime_is_used(checkpoint):
    class TwoFaces(Detector):
        description: ClassVar[str] = "test: two fixed boxes"

        def detect(self, image):
            return [Box(10, 10, 40, 40), Box(100, 50, 60, 60, score=0.5)]

    get_registry().add_object("detectors", "two-faces", TwoFaces)
    faces = Predictor.from_checkpoint(checkpoint, detector="two-faces").predict(np.zeros((200, 200), np.uint8))
    assert [f.box for f in faces] == [Box(10, 10, 40, 40), Box(100, 50, 60, 60, score=0.5)]


def test_crops_are_square_with_margin_and_padded_at_the_border():
    image = np.arange(100 * 120, dtype=np.uint32).reshape(100, 120).astype(np.uint8)
    assert crop_face(image, Box(40, 30, 20, 30), margin=0.1).shape == (36, 36)
    corner = crop_face(image, Box(0, 0, 30, 30), margin=0.5)
    assert corner.shape == (60, 60)
    assert (corner[:15, 15:] == corner[15, 15:]).all()  # rows above the image repeat its top row


def test_images_can_be_paths_and_corrupt_files_raise_a_data_error(predictor, tmp_path):
    image, truth = face_scene()
    cv2.imwrite(str(tmp_path / "face.png"), image)
    assert iou(predictor.predict(tmp_path / "face.png")[0].box, truth) > 0.8
    with pytest.raises(DataError, match="not a readable image"):
        predictor.predict(write_corrupt_jpeg(tmp_path / "bad.jpg"))
    with pytest.raises(UsageError, match="uint8"):
        predictor.predict(np.zeros((10, 10), np.int16))
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        predictor.predict(np.full((10, 10), 2.0, np.float32))


def test_files_that_are_not_fer_checkpoints_are_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="not a fer checkpoint"):
        Predictor.from_checkpoint(tmp_path / "plain.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"hello, world")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        Predictor.from_checkpoint(tmp_path / "junk.safetensors")
    (tmp_path / "model.pt").write_bytes(b"\x80\x04")
    with pytest.raises(CheckpointError, match="pickle"):
        Predictor.from_checkpoint(tmp_path / "model.pt")


def test_bad_predictor_options_are_usage_errors(checkpoint):
    with pytest.raises(UsageError, match="runtime"):
        Predictor.from_checkpoint(checkpoint, runtime="tensorrt")
    with pytest.raises(UsageError, match="batch size"):
        Predictor.from_checkpoint(checkpoint, batch_size=0)
    with pytest.raises(UnknownPluginError, match="unknown detector"):
        Predictor.from_checkpoint(checkpoint, detector="retinaface-xl")


def test_onnx_runtime_gives_torch_probabilities(checkpoint, predictor):
    pytest.importorskip("onnxruntime")
    image = face_scene()[0]
    torch_predictor = Predictor.from_checkpoint(checkpoint, runtime="torch", detector="haar")
    assert torch_predictor.runtime.name == "torch"
    (expected,) = torch_predictor.predict(image)
    (got,) = Predictor.from_checkpoint(checkpoint, runtime="onnx", detector="haar").predict(image)
    assert got.box == expected.box and got.label == expected.label
    assert list(got.probabilities.values()) == pytest.approx(list(expected.probabilities.values()), abs=1e-5)


def test_auto_runtime_is_onnx_when_installed_else_torch(checkpoint, monkeypatch):
    pytest.importorskip("onnxruntime")
    assert Predictor.from_checkpoint(checkpoint, detector=None).runtime.name == "onnx"
    monkeypatch.setattr("fer_core.predict.loading.onnx_available", lambda: False)
    assert Predictor.from_checkpoint(checkpoint, detector=None).runtime.name == "torch"


def test_the_torch_runtime_runs_channels_last(checkpoint):
    engine = Predictor.from_checkpoint(checkpoint, detector=None, runtime="torch").runtime
    conv = next(m for m in engine.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_onnx_runtime_missing_says_how_to_install_it(checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(FerError, match=r"fer-core\[onnx\]"):
        Predictor.from_checkpoint(checkpoint, runtime="onnx")
