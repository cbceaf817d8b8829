"""The composite scenes the detection benchmarks are made of, and how a detector is scored against them."""

from __future__ import annotations

import numpy as np

from fer_core.api import Box
from fer_core.predict.scenes import composite_scene, match_faces


def gradient_face(level: int) -> np.ndarray:
    return np.tile(np.linspace(level, 255, 48, dtype=np.uint8), (48, 1))


def test_faces_land_inside_the_image_without_overlapping_at_sizes_in_range():
    rng = np.random.default_rng(3)
    image, placed = composite_scene(rng, [gradient_face(i * 20) for i in range(6)], sizes=(40, 120), rotate=0.5, occlude=0.5)
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    assert placed and len({p.index for p in placed}) == len(placed)
    for p in placed:
        assert 40 <= p.box.w == p.box.h <= 120
        assert 0 <= p.box.x <= 640 - p.box.w and 0 <= p.box.y <= 480 - p.box.h
        assert abs(p.angle) <= 25
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            ax, ay, bx, by = a.box.x, a.box.y, b.box.x, b.box.y
            assert ax + a.box.w < bx or bx + b.box.w < ax or ay + a.box.h < by or by + b.box.h < ay


def test_the_same_seed_makes_the_same_scene():
    faces = [gradient_face(10), gradient_face(90)]
    first = composite_scene(np.random.default_rng(7), faces)
    again = composite_scene(np.random.default_rng(7), faces)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]


def test_a_detection_finds_a_face_by_centre_and_size_one_to_one():
    truth = [Box(100, 100, 100, 100), Box(300, 100, 60, 60)]
    tight = Box(120, 115, 65, 70)  # a detector's tighter box around the first face
    assert match_faces(truth, [tight]) == [0, None]
    assert match_faces(truth, [Box(10, 10, 30, 30), Box(305, 105, 50, 50), tight]) == [2, 1]
    assert match_faces(truth, [Box(140, 140, 20, 20)]) == [None, None]  # centred, but far too small
    assert match_faces(truth, [Box(40, 40, 220, 220)]) == [None, None]  # centred, but far too large
    assert match_faces(truth[:1], [Box(125, 125, 50, 50), Box(110, 110, 80, 80)]) == [0]  # one detection per face
