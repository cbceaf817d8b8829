"""SMOTE on all of FER-2013 Training (28,709 x 2,304 pixels): seconds and peak memory, per feature space.

Each variant runs in its own process so that its peak resident memory is its own.

    .venv/bin/python benchmarks/smote_fer2013.py [--data ../shared/data/fer2013] [--features pixels,pca:128]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013"


def measure(data: str, features: str) -> dict:
    import numpy as np

    from fer_core.bench.measure import Stopwatch, peak_rss_mb
    from fer_core.data.loading import load_dataset
    from fer_core.training.balance import balance_training_split

    dataset = load_dataset(data)
    train = dataset.splits["train"]
    loaded_mb = peak_rss_mb()
    with Stopwatch() as clock:
        out = balance_training_split("smote", {"features": features}, train.images, train.labels, dataset.classes, seed=0)
    return {
        "features": features,
        "input": f"{train.images.shape[0]} x {int(np.prod(train.images.shape[1:]))}",
        "output_images": len(out.labels),
        "synthetic_per_class": out.report["synthetic_per_class"],
        "wall_seconds": round(clock.wall, 2),
        "cpu_seconds": round(clock.cpu, 2),
        "peak_rss_mb_after_loading": round(loaded_mb),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--features", default="pixels,pca:128")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.data, args.child)))
        return
    for features in args.features.split(","):
        done = subprocess.run([sys.executable, __file__, "--data", args.data, "--child", features], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr.strip().splitlines()[-1])
        print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
