"""End-to-end `fer predict` speed: images/s and faces/s on a folder and on video frames, batch 1 vs batch N, torch vs ONNX Runtime.

    .venv/bin/python benchmarks/predict_speed.py --out benchmarks/predict_speed.md
    .venv/bin/python benchmarks/predict_speed.py --checkpoint fer-fast --threads 2

Each run goes through ``PredictJob`` exactly as `fer predict DIR` does: decode the file, Haar detection, crop, preprocess,
batched inference, no annotation. The inputs are synthetic 320x240 scenes with one or two drawn faces (never FER-2013
images). Without --checkpoint, a randomly initialised checkpoint of --model is used: speed does not depend on the weights.
Also timed on their own: the Haar detector, and the classifier on ready crops. Cases run in turns, --repeats rounds; the median is reported.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from fer_core.bench.environment import cpu_model, format_load, load_average
from fer_core.checkpoint import save_checkpoint
from fer_core.predict.detectors import HaarDetector
from fer_core.predict.pipeline import PredictJob
from fer_core.predict.predictor import Predictor
from fer_core.predict.scenes import draw_face, paste
from fer_core.preprocess import Preprocessing
from fer_core.registry import get_registry

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SCENE_W, SCENE_H, FACE = 320, 240, 100


@dataclass
class Result:
    workload: str
    runtime: str
    batch: int
    images: int
    faces: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    @property
    def faces_per_s(self) -> float:
        return self.faces / self.seconds


def scene(index: int) -> np.ndarray:
    """Odd scenes hold two faces, even scenes one; faces shift a little so no two images are equal."""
    canvas = np.full((SCENE_H, SCENE_W, 3), 110 + index % 30, np.uint8)
    shift = index % 12
    paste(canvas, draw_face(FACE), 190 - shift, 60 + shift)
    if index % 2:
        paste(canvas, draw_face(FACE - 10), 20 + shift, 70)
    return canvas


def write_inputs(folder: Path, images: int, frames: int) -> tuple[Path, Path]:
    photos = folder / "photos"
    photos.mkdir()
    for i in range(images):
        cv2.imwrite(str(photos / f"scene{i:04d}.png"), scene(i))
    video = folder / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (SCENE_W, SCENE_H))
    for i in range(frames):
        writer.write(scene(i))
    writer.release()
    return photos, video


def random_checkpoint(folder: Path, model: str) -> Path:
    torch.manual_seed(0)
    plugin = get_registry().create("models", model)
    size = plugin.default_input_size
    net = plugin.build(len(CLASSES), 1, size)
    meta = {
        "model": model,
        "model_options": {},
        "classes": list(CLASSES),
        "in_channels": 1,
        "input_size": size,
        "preprocessing": Preprocessing.default(1, size).to_dict(),
    }
    return save_checkpoint(folder / model, net, meta)


@dataclass
class Case:
    """One timed configuration; ``work`` returns (images, faces) handled."""

    workload: str
    runtime: str
    batch: int
    work: Callable[[], tuple[int, int]]


def time_round_robin(cases: list[Case], repeats: int) -> list[Result]:
    """Warm every case up, then time them in turns so that load from other jobs on the machine hits all alike."""
    counts = [case.work() for case in cases]
    times: list[list[float]] = [[] for _ in cases]
    for round_number in range(repeats):
        for index, case in enumerate(cases):
            start = time.perf_counter()
            case.work()
            times[index].append(time.perf_counter() - start)
        print(f"round {round_number + 1}/{repeats} done", flush=True)
    return [
        Result(case.workload, case.runtime, case.batch, images, faces, statistics.median(spent))
        for case, (images, faces), spent in zip(cases, counts, times, strict=True)
    ]


def end_to_end(predictor: Predictor, path: Path, batch: int, workload: str) -> Case:
    def work() -> tuple[int, int]:
        predictor.batch_size = batch
        records = list(PredictJob(predictor, batch=batch).run([path]))
        assert not any(r.error for r in records), [r.error for r in records if r.error]
        return len(records), sum(len(r.faces) for r in records)

    return Case(workload, predictor.runtime.name, batch, work)


def classifier_only(predictor: Predictor, batch: int, crops: int = 256) -> Case:
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (96, 96), dtype=np.uint8) for _ in range(crops)]

    def work() -> tuple[int, int]:
        predictor.batch_size = batch
        predictor.classify(faces)
        return crops, crops

    return Case("classifier on 96x96 crops (preprocess + model)", predictor.runtime.name, batch, work)


def detector_only(images: list[np.ndarray]) -> Case:
    detector = HaarDetector()

    def work() -> tuple[int, int]:
        return len(images), sum(len(detector.detect(image)) for image in images)

    return Case("Haar detection only (decoded images)", "-", 1, work)


def machine() -> str:
    return f"{cpu_model()}; {os.cpu_count()} logical CPUs; load average at start {format_load(load_average())}"


def markdown(results: list[Result], args: argparse.Namespace, model: str, started: str) -> str:
    import onnxruntime

    lines = [
        "# `fer predict` speed",
        "",
        f"Command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        "",
        f"Machine: {started}. torch {torch.__version__} and onnxruntime {onnxruntime.__version__}, "
        f"{args.threads} thread(s) each (`torch.set_num_threads`, ORT `intra_op_num_threads`); OpenCV {cv2.__version__} "
        f"with {cv2.getNumThreads()} thread(s). Model `{model}` at 48x48 gray.",
        "",
        "**The CPU was shared with other engineers' jobs while this ran**, so absolute numbers are noisy and low;"
        " compare rows of one table, not with other machines. Every case is warmed up, then the cases are timed in turns"
        f" ({args.repeats} rounds, median reported), so that load from other jobs falls on all of them alike.",
        "",
        f"Inputs: {args.images} synthetic 320x240 PNG scenes (half hold one drawn face, half two) and an mp4v video of "
        f"{args.frames} such frames. End to end = decode + Haar detection + crop + preprocess + inference, as `fer predict`.",
        "",
        "| workload | runtime | batch | images | faces | seconds | images/s | faces/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        speeds = f"{r.seconds:.3f} | {r.images_per_s:.1f} | {r.faces_per_s:.1f}"
        lines.append(f"| {r.workload} | {r.runtime} | {r.batch} | {r.images} | {r.faces} | {speeds} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="installed weights name or checkpoint path; default: random weights of --model")
    parser.add_argument("--model", default="mycnn_v1")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32, help="the large batch compared with batch 1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    started = machine()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photos, video = write_inputs(folder, args.images, args.frames)
        checkpoint = args.checkpoint or random_checkpoint(folder, args.model)  # an installed name or a path
        cases = [detector_only([scene(i) for i in range(args.images)])]
        predictors = [Predictor.from_checkpoint(checkpoint, detector="haar", runtime=runtime) for runtime in ("torch", "onnx")]
        for predictor in predictors:
            for batch in (1, args.batch):
                cases.append(end_to_end(predictor, photos, batch, "folder of images, end to end"))
                cases.append(end_to_end(predictor, video, batch, "video frames, end to end"))
                cases.append(classifier_only(predictor, batch))
        results = time_round_robin(cases, args.repeats)
        model = predictors[0].meta["model"]
    ended = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    results.sort(key=lambda r: (r.workload, r.runtime, r.batch))
    report = markdown(results, args, model, f"{started}, at the end {ended}")
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
