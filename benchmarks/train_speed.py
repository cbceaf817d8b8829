"""Training images/s: fer's trainer against a plain reference loop, same model, same images, same threads.

The reference is how the original notebook trained: torchvision ``ImageFolder`` + PIL transforms
(grayscale, random horizontal flip, random rotation, ToTensor, Normalize) + ``DataLoader`` (batch 32,
shuffled, no worker processes on a 2-core machine), AdamW. fer's trainer holds the images in memory as
uint8, augments a batch with albumentations, normalises it in one tensor operation and trains in
channels_last. Both see a fixed, stratified subset of the FER-2013 train folder. Each side runs
``--epochs`` epochs; the last one is timed (the first warms caches), training loop only.

    .venv/bin/python benchmarks/train_speed.py --models mycnn_v1,mycnn_v3 --images 3000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from fer_core.bench.environment import describe_machine, format_load, load_average
from fer_core.bench.measure import Stopwatch

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013" / "train"


def subset_paths(root: Path, count: int, seed: int = 0) -> list[Path]:
    """A class-stratified random subset of ``count`` image files under ``root/<class>/``."""
    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise SystemExit(f"no images under {root}; pass --data DIR (an ImageFolder-style folder)")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), size=min(count, len(files)), replace=False)
    return sorted(files[i] for i in chosen)


def reference_images_per_s(model_name: str, paths: list[Path], root: Path, epochs: int, seed: int) -> tuple[float, float]:
    """(images per wall second, images per CPU second) of the last epoch."""
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from fer_core.registry import get_registry

    keep = {str(p) for p in paths}
    transform = transforms.Compose(
        [
            transforms.Grayscale(num_output_channels=1),
            transforms.RandomHorizontalFlip(),
            transforms.RandomRotation(15),
            transforms.ToTensor(),
            transforms.Normalize((0.5,), (0.5,)),
        ]
    )
    folder = datasets.ImageFolder(str(root), transform=transform, is_valid_file=lambda p: p in keep)
    loader = DataLoader(folder, batch_size=32, shuffle=True, num_workers=0, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    model = get_registry().create("models", model_name).build(num_classes=len(folder.classes), in_channels=1, input_size=48)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    rates = (0.0, 0.0)
    for _ in range(epochs):
        seen = 0
        with Stopwatch() as clock:
            for x, y in loader:
                optimizer.zero_grad()
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
                seen += len(y)
        rates = (seen / clock.wall, seen / clock.cpu)
    return rates


def fer_images_per_s(model_name: str, paths: list[Path], epochs: int, seed: int, threads: int, precision: str) -> tuple[float, float]:
    """(images per wall second, images per CPU second) of the last epoch; the CPU figure includes the token validation."""
    import cv2

    from fer_core.api import Dataset, Split
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train

    classes = tuple(sorted({p.parent.name for p in paths}))
    images = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths])
    labels = np.array([classes.index(p.parent.name) for p in paths], dtype=np.int64)
    val = np.arange(0, len(paths), max(1, len(paths) // 64))  # a token validation split: the epoch timing excludes it
    dataset = Dataset("speed", classes, {"train": Split(images, labels), "val": Split(images[val], labels[val])}, "speed:subset")
    config = TrainConfig(model=model_name, epochs=epochs, patience=0, seed=seed, threads=threads, precision=precision)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, dataset, Path(tmp) / "run", quiet=True, command="benchmarks/train_speed.py")
    last = result.history[-1]
    return float(last["train_images_per_s"]), len(paths) / float(last["cpu_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="mycnn_v1,mycnn_v3")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ImageFolder-style train folder")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per side; the last one is timed")
    # One thread by default: on a shared 2-core machine two OpenMP threads stall each other (60 img/s instead of 1,700).
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16", action="store_true", help="also time fer's trainer with bf16 autocast")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    paths = subset_paths(args.data, args.images, args.seed)
    print(f"# {len(paths)} images from {args.data}")
    print(f"# {describe_machine(args.threads)} (shared: rates vary run to run)")
    columns = ["reference", "fer fp32"] + (["fer bf16"] if args.bf16 else [])
    header = "| model | " + " | ".join(f"{c} img/s (per CPU-s)" for c in columns) + " | speed-up, wall (CPU) |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in args.models.split(","):
        rates = [reference_images_per_s(name, paths, args.data, args.epochs, args.seed)]
        rates.append(fer_images_per_s(name, paths, args.epochs, args.seed, args.threads, "fp32"))
        if args.bf16:
            rates.append(fer_images_per_s(name, paths, args.epochs, args.seed, args.threads, "bf16"))
        cells = [f"{wall:.0f} ({cpu:.0f})" for wall, cpu in rates]
        base_wall, base_cpu = rates[0]
        ratios = [f"{c}: {wall / base_wall:.1f}x ({cpu / base_cpu:.1f}x)" for c, (wall, cpu) in zip(columns[1:], rates[1:], strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " | " + "; ".join(ratios) + " |", flush=True)
    print(f"# load average after: {format_load(load_average())}")


if __name__ == "__main__":
    main()
