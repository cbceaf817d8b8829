"""The model zoo's cost table: parameters, multiply-adds and CPU speed of each installed model at 48x48.

    .venv/bin/python benchmarks/zoo.py                      # every installed model, ~3 s of timing each
    .venv/bin/python benchmarks/zoo.py --models 'mycnn_v*' --no-timing   # the table in plugins/fer-mycnn/README.md

Inference: batch 64, eval mode, no_grad, memory layout (NCHW or channels_last) whichever is faster.
Training: batch 32, forward + cross-entropy + backward + AdamW step, train mode, the same layout.
Each figure is the fastest batch seen (slower ones were disturbed by other jobs); models take turns
for ``--rounds`` rounds so that a burst of someone else's work does not land on one model only.
MFLOPs are millions of multiply-adds per image (see fer_core/flops.py).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from fer_core.bench.environment import describe_machine
from fer_core.bench.measure import param_count, step_times
from fer_core.flops import macs_per_image
from fer_core.registry import Registry, get_registry

NUM_CLASSES = 7
INFER_BATCH = 64
TRAIN_BATCH = 32
LAYOUTS = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}


@dataclass
class Row:
    model: str
    distribution: str
    depth: int
    params: int
    mflops: float
    infer_ips: float | None = None
    train_ips: float | None = None
    layout: str = ""


def weight_layers(model: nn.Module) -> int:
    """Depth as papers count it: convolutions and fully connected layers."""
    return sum(isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear) for m in model.modules())


def images_per_second(step: Callable[[], None], batch: int, seconds: float) -> float:
    """Images per second of the fastest of the timed steps (as ``timeit`` advises: slower ones were disturbed)."""
    return batch / min(step_times(step, seconds, max_steps=None))


def inference_speed(model: nn.Module, size: int, seconds: float) -> tuple[float, str]:
    model.eval()
    best, best_layout = 0.0, ""
    for layout, memory_format in LAYOUTS.items():
        model.to(memory_format=memory_format)
        x = torch.randn(INFER_BATCH, 1, size, size).to(memory_format=memory_format)

        def forward(x: torch.Tensor = x) -> None:
            with torch.no_grad():
                model(x)

        speed = images_per_second(forward, INFER_BATCH, seconds / len(LAYOUTS))
        if speed > best:
            best, best_layout = speed, layout
    model.to(memory_format=LAYOUTS[best_layout])
    return best, best_layout


def training_speed(model: nn.Module, size: int, layout: str, seconds: float) -> float:
    model.train().to(memory_format=LAYOUTS[layout])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=1e-4)
    x = torch.randn(TRAIN_BATCH, 1, size, size).to(memory_format=LAYOUTS[layout])
    y = torch.randint(0, NUM_CLASSES, (TRAIN_BATCH,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    return images_per_second(step, TRAIN_BATCH, seconds)


def distribution_of(registry: Registry, name: str) -> str:
    for entry in registry.entries("models"):
        if entry.name.lower() == name.lower() or (entry.is_namespace and name.lower().startswith(entry.name[:-1].lower())):
            return entry.distribution
    return "?"


def describe(registry: Registry, name: str, size: int) -> tuple[Row, nn.Module]:
    torch.manual_seed(0)
    model = registry.create("models", name).build(num_classes=NUM_CLASSES, in_channels=1, input_size=size)
    row = Row(
        model=name,
        distribution=distribution_of(registry, name),
        depth=weight_layers(model),
        params=param_count(model),
        mflops=macs_per_image(model, 1, size) / 1e6,
    )
    return row, model


def time_round_robin(pairs: list[tuple[Row, nn.Module]], size: int, seconds: float, rounds: int) -> None:
    """Fill in speeds, keeping each model's best of ``rounds`` short runs taken in turn."""
    share = seconds / (2 * rounds)
    for _ in range(rounds):
        for row, model in pairs:
            infer, layout = inference_speed(model, size, share)
            if infer > (row.infer_ips or 0):
                row.infer_ips, row.layout = infer, layout
            row.train_ips = max(row.train_ips or 0, training_speed(model, size, row.layout, share))


def measure(registry: Registry, name: str, size: int, seconds: float | None, rounds: int = 1) -> Row:
    pair = describe(registry, name, size)
    if seconds:
        time_round_robin([pair], size, seconds, rounds)
    return pair[0]


def markdown(rows: list[Row], timed: bool, size: int) -> str:
    header = ["model", "distribution", "depth", "params", f"MFLOPs @{size}"]
    if timed:
        header += [f"infer img/s (b{INFER_BATCH})", f"train img/s (b{TRAIN_BATCH})", "layout"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    for r in rows:
        cells = [r.model, r.distribution, str(r.depth), f"{r.params:,}", f"{r.mflops:,.1f}"]
        if timed:
            cells += [f"{r.infer_ips:,.0f}", f"{r.train_ips:,.1f}", r.layout]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="all", help="comma-separated names or wildcards (default: all installed)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per model, split between inference and training")
    parser.add_argument("--no-timing", action="store_true", help="only depth, parameters and MFLOPs (deterministic)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds over all models; each model keeps its best")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--input-size", type=int, default=48)
    parser.add_argument("--note", default="", help="a line printed under the table's header")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    registry = get_registry()
    seconds = None if args.no_timing else args.seconds
    pairs = [describe(registry, name, args.input_size) for name in registry.select("models", args.models)]
    if seconds:
        time_round_robin(pairs, args.input_size, seconds, max(1, args.rounds))
    rows = [row for row, _ in pairs]
    if seconds:
        print(f"Command: `{shlex.join(['python', 'benchmarks/zoo.py', *(sys.argv[1:] if argv is None else argv)])}`\n")
        print(f"Machine: {describe_machine(args.threads)}\n")
        if args.note:
            print(f"{args.note}\n")
    print(markdown(rows, timed=bool(seconds), size=args.input_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
