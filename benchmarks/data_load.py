"""Load times and peak memory of the data layer on the real data: first (cold) load and cached load.

Each measurement runs in a fresh Python process so that its peak RSS is its own:

    .venv/bin/python benchmarks/data_load.py                  # ../shared/data, 3 repeats
    .venv/bin/python benchmarks/data_load.py --out benchmarks/data_load.md

"cold" starts from an empty cache directory (decode every image, then write the cache);
"no cache" decodes without reading or writing one; "cached" reads the entry the cold run
wrote. The OS page cache is left alone, so file reads are warm in every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fer_core.bench.environment import describe_machine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def measure_once(spec: str, cache_dir: str | None) -> dict:
    """Runs inside the child process: imports first (timed apart), then one load, its seconds and peak RSS."""
    from fer_core.bench.measure import Stopwatch, peak_rss_mb

    with Stopwatch() as imports:
        import cv2  # noqa: F401
        import numpy as np
        import pandas  # noqa: F401
        import sklearn.model_selection  # noqa: F401

        from fer_core.data.loading import load_dataset
        from fer_core.registry import get_registry

        get_registry().load_all("datasets")
    before = peak_rss_mb()
    with Stopwatch() as load:
        dataset = load_dataset(spec, cache=cache_dir is not None, cache_dir=Path(cache_dir) if cache_dir else None)
    raw = sum(s.images.nbytes for s in dataset.splits.values())
    assert all(s.images.dtype == np.uint8 for s in dataset.splits.values())
    return {
        "seconds": load.wall,
        "cpu_seconds": load.cpu,
        "import_seconds": imports.wall,
        "images": sum(len(s) for s in dataset.splits.values()),
        "raw_mb": raw / 2**20,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "cache_hit": dataset.meta.get("cache_hit"),
    }


def run_child(spec: str, cache_dir: str | None) -> dict:
    command = [sys.executable, __file__, "--child", spec] + (["--cache-dir", cache_dir] if cache_dir else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_csv_copy(data: Path, target: Path) -> None:
    """FER-2013 CSV written from the decoded image folders (train -> Training, val -> PublicTest)."""
    import numpy as np

    from fer_core.data.fer2013_csv import write_fer_csv
    from fer_core.data.loading import load_dataset

    fer = load_dataset(data / "fer2013", cache=False)
    names = list(fer.splits)
    write_fer_csv(
        target,
        np.concatenate([fer.splits[n].images for n in names]),
        np.concatenate([fer.splits[n].labels for n in names]),
        np.concatenate([[n] * len(fer.splits[n]) for n in names]),
    )


def benchmark(data: Path, repeat: int) -> list[dict]:
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="fer-data-bench-"))
    try:
        csv_path = scratch / "fer2013.csv"
        write_csv_copy(data, csv_path)
        for label, spec in (("FER-2013 folders", str(data / "fer2013")), ("FER-2013 CSV", str(csv_path)), ("CK+48", str(data / "ckplus"))):
            runs: dict[str, list[dict]] = {"cold": [], "no cache": [], "cached": []}
            for _ in range(repeat):
                cache = scratch / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                runs["cold"].append(run_child(spec, str(cache)))
                runs["cached"].append(run_child(spec, str(cache)))
                runs["no cache"].append(run_child(spec, None))
            for mode, results in runs.items():
                seconds = [r["seconds"] for r in results]
                rows.append(
                    {
                        "data": label,
                        "mode": mode,
                        "images": results[0]["images"],
                        "median_s": statistics.median(seconds),
                        "min_s": min(seconds),
                        "cpu_s": statistics.median(r["cpu_seconds"] for r in results),
                        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
                        "rss_before_mb": max(r["rss_before_mb"] for r in results),
                        "import_s": statistics.median(r["import_seconds"] for r in results),
                        "raw_mb": results[0]["raw_mb"],
                        "cache_hit": results[0]["cache_hit"],
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def to_markdown(rows: list[dict], repeat: int, command: str) -> str:
    lines = [
        "# Data loading benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {describe_machine()} (shared); "
        f"{repeat} runs per row, each in a fresh process (median and best seconds; peak RSS is the highest of the runs).",
        "",
        "| data | mode | images | median s | best s | median CPU s | peak RSS MB | RSS after imports MB | raw uint8 MB "
        "| imports s (not counted) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['mode']} | {r['images']:,} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} | {r['raw_mb']:.1f} | {r['import_s']:.2f} |"
        )
    lines += [
        "",
        "cold: empty cache directory, every image decoded (OpenCV, threads) and the cache entry written;",
        "no cache: decoded, nothing read or written; cached: the entry written by the cold run.",
        "Even cached loads list and stat every file, since the cache key is each file's path, size and mtime.",
        "The FER-2013 CSV is written by the benchmark from the decoded image folders (train + val).",
        "Load seconds exclude importing numpy, OpenCV, pandas, scikit-learn and the dataset plugins (last column).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_once(args.child, args.cache_dir)))
        return
    if not (args.data / "fer2013").is_dir():
        sys.exit(f"no data at {args.data}: pass --data")
    rows = benchmark(args.data, args.repeat)
    command = "python " + " ".join([os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    report = to_markdown(rows, args.repeat, command)
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
