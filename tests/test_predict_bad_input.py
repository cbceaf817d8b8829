"""Bad inputs in one `fer predict` run: each is one line, the other inputs go on, the exit code is 1 at the end;
`--annotate` never writes over an input."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest

from fer_core.api import Box, Detector
from fer_core.predict.scenes import face_scene
from tests.cli_support import run_fer, run_fer_process
from tests.predict_support import make_checkpoint, write_video


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_forged_png(path: Path, width: int = 60_000, height: int = 60_000) -> Path:
    """A well-formed PNG whose header claims 3.6 gigapixels (a decompression bomb), with almost no data."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 16)) + png_chunk(b"IEND", b""))
    return path


def write_truncated_video(path: Path, keep: float = 0.5) -> Path:
    """A valid small mp4 written by OpenCV, then cut: its index (the moov atom, written last) is gone."""
    write_video(path, [face_scene(at=(40 + 5 * i, 50))[0] for i in range(10)])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt"), favour="happy")


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    cv2.imwrite(str(folder / "a_good.png"), face_scene()[0])
    write_forged_png(folder / "bomb.png")
    write_truncated_video(folder / "cut.mp4")
    (folder / "readme.md").write_text("# not an image\n")
    (folder / "data.bin").write_bytes(b"\x00\x01\x02")
    cv2.imwrite(str(folder / "z_good.jpg"), face_scene(at=(30, 40))[0])
    return folder


def test_a_forged_header_and_a_truncated_video_are_one_line_each_and_the_run_goes_on(bad_folder, checkpoint, tmp_path):
    code, out, err = run_fer_process("predict", str(bad_folder), "-c", str(checkpoint), "--json", "--detector", "haar", cwd=tmp_path)
    assert code == 1
    document = json.loads(out)
    status = {Path(r["source"]).name: r["status"] for r in document["results"]}
    assert status == {"a_good.png": "ok", "bomb.png": "error", "cut.mp4": "error", "z_good.jpg": "ok"}
    assert document["summary"]["failed"] == 2 and document["summary"]["skipped"] == 2  # readme.md, data.bin
    lines = err.strip().splitlines()
    bomb = [line for line in lines if "bomb.png" in line]
    cut = [line for line in lines if "cut.mp4" in line]
    assert len(bomb) == 1 and "more pixels than fer will decode" in bomb[0]
    assert len(cut) == 1 and "cut.mp4: not a readable video" in cut[0]
    assert "Traceback" not in err and "moov" not in err and "WARN" not in err  # neither OpenCV's nor FFmpeg's own lines
    assert "2 files skipped (neither image nor video" in err


def test_a_video_cut_after_its_index_is_read_as_far_as_it_goes(checkpoint, tmp_path):
    """Cut 200 bytes short of the end, mp4v's index may survive: frames before the cut are read, or it is one line."""
    video = write_truncated_video(tmp_path / "short.mp4", keep=0.97)
    code, out, err = run_fer_process("predict", str(video), "-c", str(checkpoint), "--jsonl", "-q", "--detector", "haar")
    records = [json.loads(line) for line in out.splitlines()]
    assert records and "Traceback" not in err
    errors = [r for r in records if r["status"] == "error"]
    assert len(errors) <= 1 and code == (1 if errors else 0)
    assert all(r["source"] == str(video) for r in records)


class Degenerate(Detector):
    """A detector with a bug: on a bright image it returns a zero-width box."""

    description: ClassVar[str] = "test: returns a degenerate box on bright images"

    def detect(self, image):
        if image.mean() > 150:
            return [Box(10, 10, 0, 40)]
        return [Box(5, 5, 30, 30)]


def test_a_degenerate_box_fails_only_its_image(plugins, monkeypatch, capsys, checkpoint, tmp_path):
    plugins.add("detectors", "degenerate", Degenerate)
    cv2.imwrite(str(tmp_path / "bright.png"), np.full((60, 80, 3), 220, np.uint8))
    cv2.imwrite(str(tmp_path / "dark.png"), np.full((60, 80, 3), 30, np.uint8))
    args = [str(tmp_path / "bright.png"), str(tmp_path / "dark.png"), "-c", str(checkpoint), "--detector", "degenerate"]
    code, out, err = run_fer(monkeypatch, capsys, "predict", *args)
    assert code == 1, err
    bright = [line for line in out.splitlines() if "bright.png" in line]
    assert len(bright) == 1 and "unusable box x=10 y=10 w=0 h=40" in bright[0]
    assert any("dark.png: face 1" in line for line in out.splitlines())


def test_annotate_into_the_photo_folder_never_replaces_a_photo(monkeypatch, capsys, checkpoint, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "face.png"), face_scene()[0])
    cv2.imwrite(str(photos / "old.annotated.png"), face_scene(at=(20, 20))[0])  # an input already named like an output
    originals = {p.name: p.read_bytes() for p in photos.iterdir()}
    monkeypatch.chdir(photos)
    code, _, err = run_fer(monkeypatch, capsys, "predict", ".", "-c", str(checkpoint), "--annotate", ".", "--detector", "haar", "-q")
    assert code == 0, err
    assert {p.name: p.read_bytes() for p in photos.iterdir() if p.name in originals} == originals
    written = sorted(p.name for p in photos.iterdir() if p.name not in originals)
    assert written == ["face.annotated.png", "old.annotated-1.png"]


def test_a_missing_camera_is_one_line_without_opencv_warnings(checkpoint, tmp_path):
    code, out, err = run_fer_process("predict", "--webcam", "9", "-c", str(checkpoint), "--detector", "haar", cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == ["error: cannot open camera 9; check --webcam INDEX and that the camera is free"]


def test_ctrl_c_waits_while_the_final_document_is_written():
    import signal

    from fer_core.cli.predict_output import _uninterrupted

    before = signal.getsignal(signal.SIGINT)
    with _uninterrupted():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is before
