"""Augmentation images/s: the albumentations presets image by image against the torch presets as batched tensor ops.

    .venv/bin/python benchmarks/augment_speed.py --threads 1 --batch 64 --images 12800 [--write benchmarks/augment_speed.md]

Random 48x48 uint8 faces (speed does not depend on the pixels). The albumentations and torch `__call__` paths both
take and return uint8 numpy batches, as `fer train` calls a numpy augmenter; `torch (tensor path)` is what the trainer
runs for `--augment torch:PRESET`: float tensors in, float tensors out, on the training device (the CPU here, and
a CUDA GPU too when torch sees one). Each case runs --rounds times; the median is reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from fer_core.bench.environment import describe_machine
from fer_core.bench.measure import step_times
from fer_core.preprocess import to_nchw_float
from fer_core.training.augment import AlbumentationsAugmenter
from fer_core.training.tensor_augment import TensorAugmenter

PRESETS = ("standard", "strong")


def images_per_second(step: Callable[[int], object], batches: int, batch: int, rounds: int, device: str) -> float:
    """Median over ``rounds`` rounds of ``batches`` steps, after one warm-up round (the GPU synchronised per round)."""

    def one_round() -> None:
        for b in range(batches):
            step(b)
        if device == "cuda":
            torch.cuda.synchronize()

    return batches * batch / statistics.median(step_times(one_round, 0.0, min_steps=rounds, max_steps=rounds))


def cases(preset: str, chunks: list[np.ndarray]) -> list[tuple[str, str, Callable[[int], object]]]:
    """(augmenter, device, step(batch index)) for one preset."""
    rng = np.random.default_rng(0)
    tensor = TensorAugmenter(preset)
    found: list[tuple[str, str, Callable[[int], object]]] = []
    if importlib.util.find_spec("albumentations") is not None:  # an image without it still measures the torch presets
        albumentations = AlbumentationsAugmenter(preset)
        found.append(("albumentations (numpy in/out)", "cpu", lambda b: albumentations(chunks[b], rng)))
    found.append(("torch (numpy in/out)", "cpu", lambda b: tensor(chunks[b], rng)))
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        found.append(("torch (tensor path, as `fer train` runs it)", device, tensor_step(tensor, chunks, device)))
    return found


def tensor_step(tensor: TensorAugmenter, chunks: list[np.ndarray], device: str) -> Callable[[int], object]:
    on_device = [to_nchw_float(torch.from_numpy(c).to(device)) for c in chunks]
    generator = torch.Generator(device).manual_seed(0)
    return lambda b: tensor.augment_tensor(on_device[b], generator)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--images", type=int, default=12_800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    images = np.random.default_rng(0).integers(0, 256, (args.images, 48, 48), dtype=np.uint8)
    batches = args.images // args.batch
    chunks = [images[b * args.batch : (b + 1) * args.batch] for b in range(batches)]
    rows = []
    for preset in PRESETS:
        for name, device, step in cases(preset, chunks):
            rows.append((preset, name, device, images_per_second(step, batches, args.batch, args.rounds, device)))
    lines = [
        f"Measured on {describe_machine(args.threads)}; batch {args.batch}, {batches * args.batch} images, "
        f"median of {args.rounds} rounds after a warm-up round.",
        "",
        "| preset | augmenter | device | images/s |",
        "|---|---|---|---:|",
        *[f"| {preset} | {name} | {device} | {rate:,.0f} |" for preset, name, device, rate in rows],
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        _, usage, about = __doc__.split("\n\n", 2)
        page = f"# Augmentation speed\n\n```bash\n{usage.strip()}\n```\n\n{about.strip()}\n\n{text}\n"
        args.write.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
