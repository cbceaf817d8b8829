"""Video faces: the IoU tracker's ids and the per-track EMA of probabilities (``--smooth``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_core.api import Box
from fer_core.predict.predictor import FacePrediction
from fer_core.predict.scenes import face_scene
from fer_core.predict.tracking import DEFAULT_MAX_AGE, DEFAULT_WINDOW, FaceSmoother, IouTracker, ema_alpha
from tests.cli_support import run_fer
from tests.predict_support import make_probe_checkpoint, write_video

CLASSES = ("calm", "excited")


def face(box: Box, excited: float) -> FacePrediction:
    probabilities = {"calm": 1.0 - excited, "excited": excited}
    label = max(probabilities, key=probabilities.get)
    return FacePrediction(box=box, label=label, score=probabilities[label], probabilities=probabilities)


def test_ids_stay_with_a_moving_face_and_a_new_face_gets_a_new_id():
    tracker = IouTracker()
    ids = [[t.id for t in tracker.update([Box(50 + 5 * i, 40, 80, 80)])] for i in range(5)]
    assert ids == [[0]] * 5
    both = tracker.update([Box(300, 40, 70, 70), Box(75, 40, 80, 80)])  # a second face appears, listed first
    assert [t.id for t in both] == [1, 0]
    assert [t.id for t in tracker.update([Box(80, 42, 80, 80), Box(302, 41, 70, 70)])] == [0, 1]


def test_two_faces_crossing_paths_keep_the_best_overlap():
    tracker = IouTracker()
    tracker.update([Box(0, 0, 100, 100), Box(90, 0, 100, 100)])
    (second, first) = tracker.update([Box(95, 0, 100, 100), Box(5, 0, 100, 100)])
    assert (first.id, second.id) == (0, 1)


def test_a_lost_track_ends_after_max_age_frames():
    tracker = IouTracker(max_age=3)
    assert tracker.update([Box(10, 10, 50, 50)])[0].id == 0
    for _ in range(3):
        assert tracker.update([]) == []
    assert tracker.update([Box(12, 10, 50, 50)])[0].id == 0  # gone 3 frames: still the same track
    for _ in range(4):
        tracker.update([])
    assert tracker.update([Box(12, 10, 50, 50)])[0].id == 1  # gone 4 frames: a new track
    assert [t.id for t in tracker.tracks] == [1]
    assert DEFAULT_MAX_AGE >= 1


def test_boxes_that_barely_overlap_are_different_faces():
    tracker = IouTracker(min_iou=0.3)
    tracker.update([Box(0, 0, 100, 100)])
    assert tracker.update([Box(70, 0, 100, 100)])[0].id == 1  # IoU 0.18


def test_the_ema_follows_the_documented_window():
    window = 4
    alpha = ema_alpha(window)
    assert alpha == pytest.approx(2 / (window + 1))
    smoother = FaceSmoother(window=window)
    raw = [0.9, 0.1, 0.1, 0.8, 0.2]
    expected, state = [], None
    for value in raw:
        state = value if state is None else alpha * value + (1 - alpha) * state
        expected.append(state)
    got = [smoother([face(Box(20, 20, 60, 60), value)])[0] for value in raw]
    assert [g.probabilities["excited"] for g in got] == pytest.approx(expected)
    assert [g.label for g in got] == ["excited" if p > 0.5 else "calm" for p in expected]
    assert all(g.score == max(g.probabilities.values()) and g.track == 0 for g in got)


@pytest.mark.parametrize("window", [0, 1])
def test_window_0_or_1_gives_the_raw_probabilities_but_still_tracks(window):
    smoother = FaceSmoother(window=window)
    raw = [0.9, 0.1, 0.7]
    got = [smoother([face(Box(20 + i, 20, 60, 60), value)])[0] for i, value in enumerate(raw)]
    assert [g.probabilities["excited"] for g in got] == pytest.approx(raw)
    assert [g.track for g in got] == [0, 0, 0]


def test_each_track_is_smoothed_on_its_own_and_a_new_track_starts_raw():
    smoother = FaceSmoother(window=DEFAULT_WINDOW)
    smoother([face(Box(0, 0, 60, 60), 0.9)])
    left, right = smoother([face(Box(2, 0, 60, 60), 0.1), face(Box(200, 0, 60, 60), 0.3)])
    alpha = ema_alpha(DEFAULT_WINDOW)
    assert left.probabilities["excited"] == pytest.approx(alpha * 0.1 + (1 - alpha) * 0.9)
    assert (right.track, right.probabilities["excited"]) == (1, pytest.approx(0.3))


def flicker_video(tmp_path):
    """A face that stays put while the frame's brightness flips: the probe checkpoint's label flips with it."""
    frames = []
    for i in range(8):
        image, _ = face_scene(background=200 if i % 2 else 30)
        frames.append(image)
    return write_video(tmp_path / "flicker.mp4", frames, fps=10.0)


def excited_series(out: str) -> tuple[list[float], list[int | None]]:
    records = json.loads(out)["results"]
    return [r["faces"][0]["probabilities"]["bright"] for r in records], [r["faces"][0]["track"] for r in records]


def test_smooth_0_is_raw_and_smoothing_damps_flicker_in_the_cli(monkeypatch, capsys, tmp_path):
    video, checkpoint = flicker_video(tmp_path), make_probe_checkpoint(tmp_path)
    common = ["predict", str(video), "-c", str(checkpoint), "--detector", "haar", "--json", "-q"]
    code, out, err = run_fer(monkeypatch, capsys, *common, "--smooth", "0")
    assert code == 0, err
    raw, tracks = excited_series(out)
    assert tracks == [0] * len(raw)
    code, out, err = run_fer(monkeypatch, capsys, *common, "--smooth", "5")
    assert code == 0, err
    smoothed, _ = excited_series(out)
    alpha, state, expected = ema_alpha(5), None, []
    for value in raw:
        state = value if state is None else alpha * value + (1 - alpha) * state
        expected.append(state)
    assert smoothed == pytest.approx(expected, abs=1e-6)
    assert np.ptp(smoothed[2:]) < np.ptp(raw[2:])
    assert json.loads(out)["smooth"] == 5
