"""Training and inference speed with 1 and 2 torch threads, alone and beside one competing process.

Each case trains (AdamW, batch 32, channels_last, as fer's trainer does) or runs inference (batch 64, eval
mode) for a fixed time after a warm-up, on random 48x48 gray batches. "busy" starts one other process that
multiplies matrices on one thread for as long as the case runs, as another engineer's job would. The cases
are timed in interleaved rounds so that load from outside falls on all of them alike; the table gives the
median and range over rounds, per wall second and per CPU second of this process.

    .venv/bin/python benchmarks/threads.py --models mycnn_v1,mycnn_v3 --rounds 3 --seconds 4 --out benchmarks/threads.md
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fer_core.bench.environment import describe_machine, format_load, load_average
from fer_core.bench.measure import Stopwatch

_COMPETITOR = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).tanh_()\n"


def _step_function(model_name: str, mode: str):
    import torch

    from fer_core.registry import get_registry

    torch.manual_seed(0)
    model = get_registry().create("models", model_name).build(num_classes=7, in_channels=1, input_size=48)
    model = model.to(memory_format=torch.channels_last)
    batch = 32 if mode == "train" else 64
    x = torch.randn(batch, 1, 48, 48).to(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (batch,))
    if mode == "train":
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()

    else:
        model.eval()

        def step() -> None:
            with torch.inference_mode():
                model(x)

    return step, batch


def _rate(step, batch: int, seconds: float) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process) over ``seconds`` of steps."""
    for _ in range(3):
        step()
    images = 0
    with Stopwatch() as clock:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            step()
            images += batch
    return images / clock.wall, images / max(clock.cpu, 1e-9)


def _measure(model_name: str, mode: str, threads: int, busy: bool, seconds: float) -> tuple[float, float]:
    import torch

    torch.set_num_threads(threads)
    step, batch = _step_function(model_name, mode)
    competitor = subprocess.Popen([sys.executable, "-c", _COMPETITOR]) if busy else None
    try:
        if competitor is not None:
            time.sleep(0.5)  # let it start multiplying
        return _rate(step, batch, seconds)
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mycnn_v1,mycnn_v3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = [
        (model, mode, threads, busy)
        for model in args.models.split(",")
        for mode in ("train", "infer")
        for busy in (False, True)
        for threads in (1, 2)
    ]
    machine = describe_machine()  # with the load average before the rounds
    results: dict[tuple, list[tuple[float, float]]] = {case: [] for case in cases}
    for round_index in range(args.rounds):
        for case in cases if round_index % 2 == 0 else reversed(cases):
            results[case].append(_measure(*case, seconds=args.seconds))
            print(round_index, case, f"{results[case][-1][0]:,.0f} img/s", file=sys.stderr, flush=True)
    load_after = format_load(load_average())
    lines = [
        "# Torch threads on a shared 2-core machine",
        "",
        f"Command: `.venv/bin/python benchmarks/threads.py --models {args.models} --rounds {args.rounds} --seconds {args.seconds:g}`",
        "",
        f"Machine, before the rounds: {machine}. Load average (1, 5, 15 min) after: {load_after}.",
        "",
        "Images per second, median (min-max) over rounds; per CPU-s counts this process's CPU time only.",
        "",
        "| model | phase | competing process | threads | img/s (wall) | img/s per CPU-s |",
        "|---|---|---|---:|---:|---:|",
    ]
    for model, mode, threads, busy in cases:
        walls = [w for w, _ in results[(model, mode, threads, busy)]]
        cpus = [c for _, c in results[(model, mode, threads, busy)]]
        lines.append(f"| {model} | {mode} | {'one' if busy else 'none'} | {threads} | {_span(walls)} | {_span(cpus)} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
