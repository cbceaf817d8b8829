"""`fer predict` end to end: folders with bad files, a video, JSON/CSV schemas, annotated output, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer_core.api import Box
from fer_core.predict.annotate import class_color
from fer_core.predict.scenes import face_scene
from tests.cli_support import run_fer
from tests.predict_support import CLASSES, iou, make_checkpoint, write_corrupt_jpeg, write_video

FER = Path(sys.executable).with_name("fer")
FACE_AT = (150, 60)


@pytest.fixture(scope="module")
def happy_checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt"), favour="happy")


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(folder / "face.png"), face_scene(at=FACE_AT)[0])
    cv2.imwrite(str(folder / "empty.jpg"), np.full((200, 260, 3), 100, np.uint8))
    write_corrupt_jpeg(folder / "broken.jpg")
    (folder / "notes.txt").write_text("not an image")
    (folder / "sub").mkdir()
    cv2.imwrite(str(folder / "sub" / "face.png"), face_scene(at=(20, 30), color=False)[0])
    frames = [face_scene(at=(60 + 12 * i, 50))[0] for i in range(6)]
    write_video(folder / "clip.mp4", frames, fps=10.0)
    return folder


@pytest.fixture(scope="module")
def folder_run(mixed_folder, happy_checkpoint, tmp_path_factory):
    """One real `fer` process over the mixed folder (JSON + annotation), shared by the checks below."""
    out_dir = tmp_path_factory.mktemp("annotated")
    args = [str(mixed_folder), "-c", str(happy_checkpoint), "--json", "--annotate", str(out_dir), "--batch", "2", "--every", "2"]
    args += ["--detector", "haar"]  # the drawn faces' boxes are exactly where they were pasted (MTCNN: test_predict_mtcnn.py)
    proc = subprocess.run([str(FER), "predict", *args], capture_output=True, text=True, timeout=120)
    return proc, out_dir


def by_source(document: dict, name: str) -> list[dict]:
    return [r for r in document["results"] if Path(r["source"]).as_posix().endswith(name)]


def test_a_mixed_folder_completes_reports_the_bad_files_and_exits_1(folder_run):
    proc, _ = folder_run
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert [r["status"] for r in by_source(document, "broken.jpg")] == ["error"]
    assert "broken.jpg: not a readable image" in proc.stderr
    assert document["summary"]["failed"] == 1
    # a file in a folder that is neither image nor video is skipped and counted, not a failure
    assert by_source(document, "notes.txt") == [] and document["summary"]["skipped"] == 1
    assert "1 files skipped (neither image nor video" in proc.stderr


def test_json_schema_and_faces(folder_run):
    document = json.loads(folder_run[0].stdout)
    assert document["schema"] == 1 and document["classes"] == list(CLASSES) and document["model"] == "mycnn_v1"
    for record in document["results"]:
        assert set(record) == {"source", "frame", "time_s", "status", "error", "faces", "outputs"}
        for face in record["faces"]:
            assert set(face) == {"box", "label", "score", "probabilities", "track"}
            assert set(face["box"]) == {"x", "y", "w", "h", "score", "landmarks"}
            assert face["box"]["score"] is None and face["box"]["landmarks"] is None  # Haar has neither
            assert list(face["probabilities"]) == list(CLASSES)
            assert face["label"] == "happy" and face["score"] == max(face["probabilities"].values())
    (face_record,) = by_source(document, "/face.png")[:1]
    (face,) = face_record["faces"]
    assert iou(Box(**face["box"]), face_scene(at=FACE_AT)[1]) > 0.8
    assert iou(Box(**by_source(document, "sub/face.png")[0]["faces"][0]["box"]), face_scene(at=(20, 30))[1]) > 0.8
    assert document["detector"] == "haar" and document["smooth"] == 5
    assert by_source(document, "empty.jpg")[0] | {"outputs": None} == {
        "source": str(Path(face_record["source"]).with_name("empty.jpg")),
        "frame": None,
        "time_s": None,
        "status": "no_face",
        "error": None,
        "faces": [],
        "outputs": None,
    }


def test_video_frames_are_analysed_every_n_and_located(folder_run):
    document = json.loads(folder_run[0].stdout)
    frames = by_source(document, "clip.mp4")
    assert [r["frame"] for r in frames] == [0, 2, 4]
    assert [r["time_s"] for r in frames] == pytest.approx([0.0, 0.2, 0.4])
    for record in frames:
        truth = face_scene(at=(60 + 12 * record["frame"], 50))[1]
        assert iou(Box(**record["faces"][0]["box"]), truth) > 0.7


def test_annotated_images_video_and_timeline_are_written(folder_run, mixed_folder):
    _, out_dir = folder_run
    annotated = cv2.imread(str(out_dir / "face.annotated.png"))
    original = cv2.imread(str(mixed_folder / "face.png"))
    assert annotated.shape == original.shape and not np.array_equal(annotated, original)
    document = json.loads(folder_run[0].stdout)
    box = Box(**by_source(document, "/face.png")[0]["faces"][0]["box"])
    assert tuple(annotated[box.y + box.h // 2, box.x]) == class_color(CLASSES, "happy")  # the box's left edge
    assert (out_dir / "sub" / "face.annotated.png").is_file() and (out_dir / "empty.annotated.jpg").is_file()
    assert not list(out_dir.glob("broken*"))

    video = cv2.VideoCapture(str(out_dir / "clip.annotated.mp4"))
    assert video.isOpened() and int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 6  # every frame, not only analysed ones
    video.release()
    with open(out_dir / "clip.timeline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["frame"]) for r in rows] == [0, 2, 4]
    assert all(r["label"] == "happy" and abs(sum(float(r[c]) for c in CLASSES) - 1) < 1e-4 for r in rows)
    assert {r["track"] for r in rows} == {"0"}  # one face moving right: one track
    assert cv2.imread(str(out_dir / "clip.timeline.png")) is not None
    assert by_source(document, "clip.mp4")[-1]["outputs"] == [
        str(out_dir / n) for n in ("clip.annotated.mp4", "clip.timeline.csv", "clip.timeline.png")
    ]


def test_all_good_inputs_exit_0_with_text_and_csv(monkeypatch, capsys, mixed_folder, happy_checkpoint):
    good = [str(mixed_folder / "face.png"), str(mixed_folder / "empty.jpg")]
    code, out, err = run_fer(monkeypatch, capsys, "predict", *good, "-c", str(happy_checkpoint))
    assert code == 0, err
    assert "face.png: face 1 at x=" in out and ": happy " in out
    assert "empty.jpg: no face found" in out
    code, out, _ = run_fer(monkeypatch, capsys, "predict", *good, "-c", str(happy_checkpoint), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(Path(r["source"]).name, r["status"], r["label"]) for r in rows] == [("face.png", "ok", "happy"), ("empty.jpg", "no_face", "")]
    assert set(CLASSES) <= set(rows[0]) and float(rows[0]["happy"]) == pytest.approx(float(rows[0]["score"]))


def test_no_detect_treats_the_image_as_a_face(monkeypatch, capsys, mixed_folder, happy_checkpoint):
    code, out, _ = run_fer(
        monkeypatch, capsys, "predict", str(mixed_folder / "empty.jpg"), "-c", str(happy_checkpoint), "--no-detect", "--json"
    )
    assert code == 0
    (record,) = json.loads(out)["results"]
    assert record["faces"][0]["box"] == {"x": 0, "y": 0, "w": 260, "h": 200, "score": 1.0, "landmarks": None}


def test_onnx_runtime_matches_torch_through_the_cli(monkeypatch, capsys, mixed_folder, happy_checkpoint):
    pytest.importorskip("onnxruntime")
    image = str(mixed_folder / "face.png")
    outputs = {}
    for runtime in ("torch", "onnx"):
        code, out, err = run_fer(monkeypatch, capsys, "predict", image, "-c", str(happy_checkpoint), "--json", "--runtime", runtime)
        assert code == 0, err
        outputs[runtime] = json.loads(out)
    assert outputs["onnx"]["runtime"] == "onnx"
    torch_face, onnx_face = (outputs[r]["results"][0]["faces"][0] for r in ("torch", "onnx"))
    assert onnx_face["box"] == torch_face["box"]
    assert list(onnx_face["probabilities"].values()) == pytest.approx(list(torch_face["probabilities"].values()), abs=1e-5)


def test_a_file_that_is_not_a_fer_checkpoint_is_refused(monkeypatch, capsys, tmp_path, mixed_folder):
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    code, out, err = run_fer(monkeypatch, capsys, "predict", str(mixed_folder / "face.png"), "-c", str(tmp_path / "other.safetensors"))
    assert code == 1 and out == ""
    assert err.strip().startswith("error:") and "not a fer checkpoint" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "--csv"], "choose one of --json, --jsonl and --csv"),
        (["--jsonl", "--json"], "choose one of --json, --jsonl and --csv"),
        (["--detector", "nosuchdetector"], "unknown detector 'nosuchdetector'"),
        (["--detector-opt", "min_size"], "--detector-opt expects KEY=VALUE"),
        (["--runtime", "tensorrt"], "unknown runtime 'tensorrt'"),
    ],
)
def test_bad_options_exit_2_with_one_line(monkeypatch, capsys, mixed_folder, happy_checkpoint, args, message):
    code, _, err = run_fer(monkeypatch, capsys, "predict", str(mixed_folder / "face.png"), "-c", str(happy_checkpoint), *args)
    assert code == 2 and message in err


def test_an_unknown_weights_name_is_one_line(monkeypatch, capsys, tmp_path, mixed_folder):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_fer(monkeypatch, capsys, "predict", str(mixed_folder / "face.png"), "-c", "fer-nosuch")
    assert code != 0 and "'fer-nosuch' is neither an installed weights name" in err and len(err.strip().splitlines()) == 1


def test_missing_paths_and_unreadable_videos_are_reported(monkeypatch, capsys, tmp_path, happy_checkpoint):
    (tmp_path / "fake.mp4").write_bytes(b"not a video at all")
    missing = tmp_path / "nowhere.png"
    code, out, _ = run_fer(monkeypatch, capsys, "predict", str(missing), str(tmp_path / "fake.mp4"), "-c", str(happy_checkpoint))
    assert code == 1
    assert f"{missing}: no such file or folder" in out and "fake.mp4: not a readable video" in out


def test_webcam_takes_only_an_index(monkeypatch, capsys, tmp_path, happy_checkpoint):
    code, _, err = run_fer(monkeypatch, capsys, "predict", "--webcam", "a.png", "-c", str(happy_checkpoint))
    assert code == 2 and "--webcam takes an optional camera index" in err


class FakeCamera:
    """Stands in for cv2.VideoCapture(index): camera 0 shows a face moving right for 5 frames."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.frames = [face_scene(at=(60 + 10 * i, 50))[0] for i in range(5)]

    def isOpened(self) -> bool:
        return self.index == 0

    def read(self):
        return (True, self.frames.pop(0)) if self.frames else (False, None)

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        pass


def test_webcam_frames_are_predicted_live_and_recorded(monkeypatch, capsys, tmp_path, happy_checkpoint):
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", FakeCamera)
    args = ["-c", str(happy_checkpoint), "--max-frames", "3", "--json", "--annotate", str(tmp_path)]
    code, out, err = run_fer(monkeypatch, capsys, "predict", "--webcam", *args)
    assert code == 0, err
    records = json.loads(out)["results"]
    assert [(r["source"], r["frame"], r["status"]) for r in records] == [("webcam:0", i, "ok") for i in range(3)]
    times = [r["time_s"] for r in records]
    assert times == sorted(times) and times[0] >= 0
    recorded = real_capture(str(tmp_path / "webcam0.annotated.mp4"))
    assert int(recorded.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    recorded.release()
    assert (tmp_path / "webcam0.timeline.csv").read_text().count("\n") == 4

    code, _, err = run_fer(monkeypatch, capsys, "predict", "--webcam", "3", "-c", str(happy_checkpoint))
    assert code == 1 and "cannot open camera 3" in err
