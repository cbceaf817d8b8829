"""Tiny on-disk datasets for the data-layer tests (PNG, so pixels survive the round trip exactly)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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


def rewrite_fer_metadata(weights: Path, fer: object, *, raw: bool = False) -> Path:
    """Replace the ``fer`` metadata of a safetensors file in place, as a forger would (``raw``: store ``fer`` as given)."""
    import json
    import struct

    data = weights.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header["__metadata__"]["fer"] = fer if raw else json.dumps(fer)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    weights.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    return weights


def small_checkpoint(folder: Path, meta_changes: dict | None = None, *, model: str = "mycnn_v1") -> Path:
    """A random-weight checkpoint (7 FER classes, 48x48 gray) with ``meta_changes`` applied to its metadata."""
    import torch

    from fer_core.checkpoint import save_checkpoint
    from fer_core.preprocess import Preprocessing
    from fer_core.registry import get_registry

    torch.manual_seed(0)
    net = get_registry().create("models", model).build(len(FER_FOLDERS), 1, 48).eval()
    meta = {
        "model": model,
        "model_options": {},
        "classes": list(FER_FOLDERS),
        "in_channels": 1,
        "input_size": 48,
        "preprocessing": Preprocessing.default(1, 48).to_dict(),
        "data": {"spec": "demo", "options": {"train": 14, "val": 14, "test": 14}},
        **(meta_changes or {}),
    }
    return save_checkpoint(folder / "model", net, meta)
