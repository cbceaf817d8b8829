"""Face detection on composite scenes made of real faces: faces found, false boxes and ms per image, Haar vs MTCNN.

    nice -n 5 .venv/bin/python benchmarks/detect.py --data /work/shared/data --out benchmarks/detect.md

Scenes (``fer_core.predict.scenes.composite_scene``): 640x480 cluttered backgrounds with noise, 1-4 faces each pasted
at 40-250 px, about 30 % turned by up to 25 degrees and 25 % partly covered. The faces are FER-2013 PublicTest images
and CK+48 images (one frame per sequence), half and half. A detection finds a face when its centre lies in the pasted
square and its size is 0.35-1.6 times the square's (``match_faces``); every other detection is a false box. Detectors
are timed in interleaved rounds on the decoded scenes (one thread each); the median and the spread are reported, with
CPU seconds. ``skimage.data.astronaut()`` is added when scikit-image is installed.

Also used by align_sweep.py and predict_e2e.py: ``sample_faces`` (dataset faces with their labels) and ``make_scenes``.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from fer_core.api import Box
from fer_core.bench.environment import cpu_model, format_load, load_average
from fer_core.predict.scenes import PlacedFace, composite_scene, match_faces
from fer_core.registry import get_registry

CKPLUS_LABELS = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy", "sadness": "sad", "surprise": "surprise"}


@dataclass(frozen=True)
class Face:
    image: np.ndarray  # 48x48 gray, as the dataset stores it
    label: str  # in FER-2013's class names
    dataset: str
    path: str


def sample_faces(data: Path, dataset: str, count: int, seed: int = 0) -> list[Face]:
    """``count`` faces drawn at random: FER-2013 PublicTest (``val/``), or CK+48's last frame of each sequence
    (contempt left out: FER-2013 has no such class)."""
    rng = np.random.default_rng(seed)
    if dataset == "fer2013":
        rows = [r for r in read_manifest(data / "fer2013" / "manifest.csv") if r["usage"] == "PublicTest"]
        root, label_of = data / "fer2013", (lambda row: row["emotion"])
    elif dataset == "ckplus":
        last: dict[tuple[str, str], dict[str, str]] = {}
        for row in read_manifest(data / "ckplus" / "manifest.csv"):
            key = (row["subject"], row["sequence"])
            if row["emotion"] in CKPLUS_LABELS and (key not in last or row["frame"] > last[key]["frame"]):
                last[key] = row
        rows = sorted(last.values(), key=lambda r: r["path"])
        root, label_of = data / "ckplus", (lambda row: CKPLUS_LABELS[row["emotion"]])
    else:
        raise ValueError(f"unknown dataset {dataset}")
    chosen = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    faces = []
    for i in sorted(chosen):
        path = root / rows[i]["path"]
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise SystemExit(f"error: cannot read {path}")
        faces.append(Face(image, label_of(rows[i]), dataset, str(path)))
    return faces


def read_manifest(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; pass --data (see /work/shared/data/SOURCES.md)")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Scene:
    image: np.ndarray
    placed: list[PlacedFace]
    faces: list[Face]  # the faces placed, in the order of ``placed``


def make_scenes(faces: Sequence[Face], seed: int, per_scene: tuple[int, int] = (1, 4), **options) -> list[Scene]:
    """Every face goes into some scene (1-4 per scene by default); ``options`` go to ``composite_scene``."""
    rng = np.random.default_rng(seed)
    scenes, start = [], 0
    while start < len(faces):
        group = list(faces[start : start + int(rng.integers(per_scene[0], per_scene[1] + 1))])
        start += len(group)
        image, placed = composite_scene(rng, [f.image for f in group], **options)
        scenes.append(Scene(image, placed, [group[p.index] for p in placed]))
    return scenes


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)


def interleaved(cases: dict[str, Callable[[], object]], rounds: int, warmup: bool = True) -> dict[str, Timing]:
    """Time each case once per round, the cases in turn (so other load on the machine falls on all alike)."""
    if warmup:
        for work in cases.values():
            work()
    timings = {name: Timing() for name in cases}
    for number in range(rounds):
        for name, work in cases.items():
            wall, cpu = time.perf_counter(), time.process_time()
            work()
            timings[name].add(time.perf_counter() - wall, time.process_time() - cpu)
        print(f"round {number + 1}/{rounds} done", file=sys.stderr, flush=True)
    return timings


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    """``median (min-max)``, scaled."""
    v = [x * scale for x in values]
    return f"{statistics.median(v):.{digits}f} ({min(v):.{digits}f}-{max(v):.{digits}f})"


def machine() -> str:
    return f"{cpu_model()}; {os.cpu_count()} logical CPUs; load average {format_load(load_average())}"


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


@dataclass
class Score:
    faces: int = 0
    found: int = 0
    false: int = 0
    groups: dict[str, list[int]] = field(default_factory=dict)  # name -> [found, total]

    def add(self, group: str, hit: bool) -> None:
        counts = self.groups.setdefault(group, [0, 0])
        counts[0] += hit
        counts[1] += 1


def score(scenes: Sequence[Scene], boxes: Sequence[Sequence[Box]]) -> Score:
    result = Score()
    for scene, found in zip(scenes, boxes, strict=True):
        matched = match_faces([p.box for p in scene.placed], found)
        result.faces += len(matched)
        result.found += sum(m is not None for m in matched)
        result.false += len(found) - sum(m is not None for m in matched)
        for placed, face, m in zip(scene.placed, scene.faces, matched, strict=True):
            hit = m is not None
            result.add("40-79 px" if placed.box.w < 80 else "80-149 px" if placed.box.w < 150 else "150-250 px", hit)
            result.add("turned" if placed.angle else "upright", hit)
            result.add("covered" if placed.occluded else "uncovered", hit)
            result.add(face.dataset, hit)
    return result


def astronaut() -> np.ndarray | None:
    try:
        from skimage import data
    except ImportError:
        return None
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


GROUPS = ("40-79 px", "80-149 px", "150-250 px", "turned", "covered", "fer2013", "ckplus")


def markdown(args: argparse.Namespace, scenes: list[Scene], scores: dict[str, Score], timings: dict[str, Timing], photo: str) -> str:
    faces = sum(len(s.placed) for s in scenes)
    first = next(iter(scores.values()))
    group_sizes = ", ".join(f"{g} {first.groups.get(g, [0, 0])[1]}" for g in GROUPS)
    lines = [
        "# Face detection on composite scenes: Haar vs MTCNN",
        "",
        f"Command: `{command_line()}`",
        "",
        f"Machine: {machine()} (at the end of the run). torch {torch.__version__}, OpenCV {cv2.__version__}, one thread each"
        " (`torch.set_num_threads(1)`, `cv2.setNumThreads(1)`), `nice -n 5`, the CPU shared with other jobs.",
        "",
        f"Inputs: {len(scenes)} scenes of 640x480 holding {faces} real faces ({group_sizes}); how they are made and"
        " scored: the docstring of `benchmarks/detect.py`. Each detector with fer's defaults (`haar`: scale 1.1,"
        " 5 neighbours, min 30 px, histogram equalisation; `mtcnn`: min 20 px, threshold 0.9).",
        "",
        f"Timing: {args.rounds} interleaved rounds over all scenes after a warm-up; ms per image as median (min-max) over"
        " the rounds; CPU ms is process time.",
        "",
        "| detector | faces found | false boxes | ms / image | CPU ms / image | ms / face found |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in scores.items():
        t = timings[name]
        per_face = statistics.median(t.wall) * 1000 / max(s.found, 1)
        lines.append(
            f"| {name} | {s.found} / {s.faces} ({100 * s.found / s.faces:.0f} %) | {s.false} "
            f"| {spread(t.wall, 1000 / len(scenes))} | {spread(t.cpu, 1000 / len(scenes))} | {per_face:.1f} |"
        )
    lines += ["", "Found, by kind of face:", "", "| detector | " + " | ".join(GROUPS) + " |", "|---|" + "---:|" * len(GROUPS)]
    for name, s in scores.items():
        cells = [f"{s.groups.get(g, [0, 0])[0]}/{s.groups.get(g, [0, 0])[1]}" for g in GROUPS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", photo, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--faces", type=int, default=120, help="faces per dataset")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    faces = sample_faces(args.data, "fer2013", args.faces, args.seed) + sample_faces(args.data, "ckplus", args.faces, args.seed)
    order = np.random.default_rng(args.seed).permutation(len(faces))
    scenes = make_scenes([faces[i] for i in order], args.seed)
    detectors = {name: get_registry().create("detectors", name) for name in ("haar", "mtcnn")}
    found: dict[str, list[list[Box]]] = {}

    def runner(name: str) -> Callable[[], object]:
        def work() -> None:
            found[name] = [detectors[name].detect(s.image) for s in scenes]

        return work

    timings = interleaved({name: runner(name) for name in detectors}, args.rounds)
    scores = {name: score(scenes, found[name]) for name in detectors}

    image = astronaut()
    if image is None:
        photo = "`skimage.data.astronaut()`: scikit-image is not installed in this environment, so no real photo was run."
    else:
        counts = {name: len(d.detect(image)) for name, d in detectors.items()}
        photo = "`skimage.data.astronaut()` (one face): " + ", ".join(f"{n} {c} box(es)" for n, c in counts.items()) + "."
    report = markdown(args, scenes, scores, timings, photo)
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
