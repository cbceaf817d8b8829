"""Tiny on-disk datasets for the data-layer tests (PNG, so pixels survive the round trip exactly)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

FER_FOLDERS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CK_FOLDERS = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")


def random_image(rng: np.random.Generator, shape: tuple[int, ...] = (48, 48)) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def write_image(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def make_label_folder(root: Path, labels: dict[str, int], *, shape: tuple[int, ...] = (48, 48), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for label, count in labels.items():
        for i in range(count):
            write_image(root / label / f"img{i:03d}.png", random_image(rng, shape))
    return root


def make_fer_folder(root: Path, *, per_class: int = 4, seed: int = 0, kaggle: bool = True) -> Path:
    """FER-2013 Kaggle layout: ``train/<emotion>/Training_*`` and ``test/<emotion>/{PublicTest,PrivateTest}_*``."""
    rng = np.random.default_rng(seed)
    counter = 0
    for emotion in FER_FOLDERS:
        for prefix, folder in (("Training", "train"), ("PublicTest", "test" if kaggle else "val"), ("PrivateTest", "test")):
            for _ in range(per_class):
                counter += 1
                write_image(root / folder / emotion.upper() / f"{prefix}_{counter:06d}.png", random_image(rng))
    return root


def make_ck_folder(root: Path, *, subjects: int = 12, seed: int = 0) -> Path:
    """CK+48 layout: every subject has one 3-frame sequence in a few emotions."""
    rng = np.random.default_rng(seed)
    for s in range(subjects):
        for j, emotion in enumerate(CK_FOLDERS):
            if (s + j) % 2:
                continue
            for frame in range(3):
                write_image(root / emotion / f"S{100 + s:03d}_{j + 1:03d}_{frame + 10:08d}.png", random_image(rng))
    return root


def run_fer(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``fer`` in-process through ``main`` (which maps FerError to exit codes)."""
    from fer_core.cli.app import main

    monkeypatch.setattr(sys, "argv", ["fer", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), captured.out, captured.err
