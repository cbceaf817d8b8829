"""End to end `fer predict` on 640x480 photos and a 640x360 video of real faces: images/s, faces/s and faces found,
Haar vs MTCNN, torch vs ONNX Runtime, next to the PyPI `fer` package's own pipeline measured in the same run.

    nice -n 5 .venv/bin/python benchmarks/predict_e2e.py --pypi-python /work/scratch/h19/pypifer/bin/python \\
        --out benchmarks/predict_e2e.md

Inputs: ``--photos`` JPEG scenes (``benchmarks/detect.py``'s composite scenes: FER-2013 PublicTest and CK+48 faces,
1-4 per scene at 40-250 px, some turned or covered) and an mp4v video of ``--frames`` 640x360 frames in which three
faces (two FER-2013, one CK+; 70-130 px) drift across a fixed cluttered background. fer runs ``PredictJob`` exactly as `fer predict PATH`
does (decode, detect, align or crop, preprocess, batch 32, inference; no annotation; the video tracked and smoothed);
the PyPI package runs ``FER().detect_emotions`` (its Haar cascade, min face 50 px, and its quantised TFLite model) on
each decoded photo or frame, in a worker process of its own virtual environment (``--pypi-python``), one thread.
Every case is warmed up, then the cases are timed in interleaved rounds; median and (min-max) over rounds are given,
with CPU seconds. "Found" counts true faces matched by a reported box (``match_faces``), so false boxes do not count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

PYPI_ENV = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
VIDEO_W, VIDEO_H = 640, 360


# ---- the PyPI worker (runs in the other virtual environment: numpy, cv2 and fer only) ----


def pypi_worker() -> None:
    """Answer one JSON request per stdin line: {"photos": [...]} or {"video": path} -> timings, faces and boxes."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    interpreter = tf.lite.Interpreter
    tf.lite.Interpreter = lambda *a, **k: interpreter(*a, **{**k, "num_threads": 1})
    cv2.setNumThreads(1)
    import fer as fer_package
    from fer.fer import FER

    detector = FER()
    print(json.dumps({"ready": fer_package.__version__, "tensorflow": tf.__version__}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        wall, cpu = time.perf_counter(), time.process_time()
        boxes = []
        if "photos" in request:
            for path in request["photos"]:
                boxes.append([list(map(int, f["box"])) for f in detector.detect_emotions(cv2.imread(path))])
        else:
            capture = cv2.VideoCapture(request["video"])
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                boxes.append([list(map(int, f["box"])) for f in detector.detect_emotions(frame)])
            capture.release()
        reply = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "boxes": boxes}
        print(json.dumps(reply), flush=True)


# ---- the benchmark ----


def write_photos(folder: Path, scenes: list) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, scene in enumerate(scenes):
        path = folder / f"scene{i:03d}.jpg"
        cv2.imwrite(str(path), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


def write_video(path: Path, faces: list, frames: int, seed: int) -> list[list]:
    """Three faces drifting over a fixed background; returns each frame's true boxes."""
    from fer_core.api import Box
    from fer_core.predict.scenes import clutter, paste

    rng = np.random.default_rng(seed)
    background = clutter(rng, VIDEO_W, VIDEO_H)
    sizes = [int(s) for s in rng.integers(70, 130, len(faces))]
    patches = [
        cv2.cvtColor(cv2.resize(f.image, (s, s), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
        for f, s in zip(faces, sizes, strict=True)
    ]
    starts = [(40 + 210 * i, int(rng.integers(20, VIDEO_H - 160))) for i in range(len(faces))]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (VIDEO_W, VIDEO_H))
    truth = []
    for t in range(frames):
        frame = background.copy()
        boxes = []
        for (x0, y0), patch, size in zip(starts, patches, sizes, strict=True):
            x = int(min(VIDEO_W - size, x0 + 40 * np.sin(t / 15)))
            y = int(min(VIDEO_H - size, max(0, y0 + 10 * np.cos(t / 20))))
            paste(frame, patch, x, y)
            boxes.append(Box(x, y, size, size))
        noisy = frame.astype(np.float32) + rng.normal(0, 5, frame.shape).astype(np.float32)
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
        truth.append(boxes)
    writer.release()
    return truth


class PypiWorker:
    def __init__(self, python: str) -> None:
        env = {**os.environ, **PYPI_ENV, "PYTHONPATH": ""}
        self.process = subprocess.Popen(
            [python, __file__, "--pypi-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        hello = self.process.stdout.readline()
        if not hello:
            raise SystemExit(f"error: the PyPI fer worker ({python}) did not start")
        self.versions = json.loads(hello)

    def run(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def found_count(truth: list[list], boxes: list[list]) -> tuple[int, int, int]:
    """(true faces matched, true faces, boxes reported)."""
    from fer_core.api import Box
    from fer_core.predict.scenes import match_faces

    matched = total = reported = 0
    for true_boxes, got in zip(truth, boxes, strict=True):
        found = [b if isinstance(b, Box) else Box(*b) for b in got]
        matched += sum(m is not None for m in match_faces(true_boxes, found))
        total += len(true_boxes)
        reported += len(found)
    return matched, total, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pypi-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pypi-python", help="python of a virtual environment with the PyPI `fer` package installed")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.pypi_worker:
        pypi_worker()
        return
    run_benchmark(args)


def run_benchmark(args: argparse.Namespace) -> None:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from detect import command_line, interleaved, machine, make_scenes, sample_faces, spread

    from fer_core.predict import Predictor
    from fer_core.predict.pipeline import PredictJob

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    faces = sample_faces(args.data, "fer2013", args.photos, args.seed) + sample_faces(args.data, "ckplus", args.photos, args.seed)
    order = np.random.default_rng(args.seed).permutation(len(faces))
    scenes = make_scenes([faces[i] for i in order], args.seed)[: args.photos]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo_paths = write_photos(folder / "photos", scenes)
        photo_truth = [[p.box for p in s.placed] for s in scenes]
        video = folder / "clip.mp4"
        video_faces = sample_faces(args.data, "fer2013", 2, args.seed + 1) + sample_faces(args.data, "ckplus", 1, args.seed + 1)
        video_truth = write_video(video, video_faces, args.frames, args.seed)

        results: dict[str, dict] = {}
        cases = {}
        for detector in ("haar", "mtcnn"):
            for runtime in ("torch", "onnx"):
                predictor = Predictor.from_checkpoint("fer-fast", detector=detector, runtime=runtime)
                for workload, path in (("photos", folder / "photos"), ("video", video)):
                    name = f"fer {detector} {runtime} {workload}"

                    def work(predictor=predictor, path=path, name=name) -> None:
                        records = list(PredictJob(predictor, batch=32).run([path]))
                        assert not any(r.error for r in records), [r.error for r in records if r.error]
                        results[name] = {"boxes": [[f.box for f in r.faces] for r in records]}

                    cases[name] = work
        worker = PypiWorker(args.pypi_python) if args.pypi_python else None
        cpu_of: dict[str, list[float]] = {}
        if worker is not None:
            for workload, request in (("photos", {"photos": [str(p) for p in photo_paths]}), ("video", {"video": str(video)})):
                name = f"PyPI fer {workload}"

                def pypi(request=request, name=name) -> None:
                    reply = worker.run(request)
                    results[name] = reply
                    cpu_of.setdefault(name, []).append(reply["cpu"])

                cases[name] = pypi
        timings = interleaved(cases, args.rounds)
        if worker is not None:
            for name, cpus in cpu_of.items():
                timings[name].cpu = cpus[1:]  # the worker's own process time, without the warm-up
            versions = worker.versions
            worker.close()
        else:
            versions = None
    report = markdown(args, scenes, results, timings, versions, photo_truth, video_truth, spread, command_line(), machine())
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


def markdown(args, scenes, results, timings, versions, photo_truth, video_truth, spread, command, machine_text) -> str:
    import onnxruntime
    import torch

    true_faces = sum(len(t) for t in photo_truth)
    lines = [
        "# `fer predict` end to end on photos and video, next to the PyPI `fer` package",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine_text} (at the end). torch {torch.__version__}, onnxruntime {onnxruntime.__version__},"
        f" OpenCV {cv2.__version__}; one thread everywhere, `nice -n 5`, the CPU shared with other jobs.",
        "",
        f"Inputs: {len(scenes)} JPEG photos of 640x480 with {true_faces} real faces, and a video of {args.frames} frames"
        f" of 640x360 with 3 faces each ({3 * args.frames} face appearances). How they are made and timed: the docstring of"
        f" `benchmarks/predict_e2e.py`. fer uses the installed `fer-fast` weights; {args.rounds} interleaved rounds.",
        "",
    ]
    if versions is None:
        lines += ["The PyPI `fer` package was not measured (no `--pypi-python`).", ""]
    else:
        lines += [
            f"PyPI `fer` {versions['ready']} (TensorFlow {versions['tensorflow']}, its default `FER()`: Haar cascade and"
            " the quantised TFLite emotion model) was installed into a separate virtual environment with"
            " `pip install fer==25.10.3` and timed by a worker process in the same rounds.",
            "",
        ]
    for workload, truth, unit in (("photos", photo_truth, "images"), ("video", video_truth, "frames")):
        lines += [
            f"**{workload}**",
            "",
            f"| pipeline | {unit}/s | faces/s | found / true | boxes | s per round | CPU s | CPU ms per face found |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, timing in timings.items():
            if not name.endswith(workload):
                continue
            found, total, boxes = found_count(truth, results[name]["boxes"])
            median = sorted(timing.wall)[len(timing.wall) // 2]
            cpu = sorted(timing.cpu)[len(timing.cpu) // 2]
            label = name.removesuffix(f" {workload}")
            lines.append(
                f"| {label} | {len(truth) / median:.1f} | {boxes / median:.1f} | {found} / {total} | {boxes} "
                f"| {spread(timing.wall, 1, 2)} | {spread(timing.cpu, 1, 2)} | {1000 * cpu / max(found, 1):.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
