"""Cost of a trained model: parameters, multiply-adds per image, checkpoint size and CPU inference speed.

Speed is measured briefly (about a second per cell). Throughput comes from the fastest of several
batch timings, which other load on a shared machine can only slow down, so it varies least between
runs; latency is the median single-image time, as asked of a p50.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

SPEED_BATCH = 64
SPEED_BUDGET_S = 0.6
MAX_REPEATS = 20


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_mflops(model: nn.Module, channels: int, size: int) -> float | None:
    """Millions of multiply-adds for one image, counted as torchvision and timm count FLOPs; None if uncountable."""
    from fer_core.flops import macs_per_image

    try:
        return macs_per_image(model, channels, size) / 1e6
    except Exception:  # an exotic op the counter cannot trace must not fail the cell
        return None


def step_times(run: Callable[[], object], budget_s: float, *, min_steps: int = 3, max_steps: int | None = MAX_REPEATS) -> list[float]:
    """Wall seconds of each call of ``run`` after one untimed warm-up call (allocator, kernel choice): at least
    ``min_steps`` calls, more while ``budget_s`` lasts, at most ``max_steps`` (None: no cap)."""
    run()
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < min_steps or (time.perf_counter() < deadline and (max_steps is None or len(times) < max_steps)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


class Stopwatch:
    """Wall and CPU seconds (this process, every thread) of a ``with`` block: ``with Stopwatch() as clock: ...``."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._started = (0.0, 0.0)

    def __enter__(self) -> Stopwatch:
        self._started = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._started[0]
        self.cpu = time.process_time() - self._started[1]


def peak_rss_mb() -> float:
    """This process's peak resident set in MiB (VmHWM); unlike ru_maxrss it does not inherit the parent's peak across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def inference_speed(model: nn.Module, channels: int, size: int, *, threads: int, budget_s: float = SPEED_BUDGET_S) -> dict[str, Any]:
    """Images per second at batch 64 (fastest batch) and median batch-1 latency in milliseconds, on ``threads`` threads."""
    import torch

    model = model.eval()
    batch = torch.randn(SPEED_BATCH, channels, size, size, generator=torch.Generator().manual_seed(0))
    single = batch[:1].clone()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            batch_times = step_times(lambda: model(batch), budget_s / 2)
            single_times = step_times(lambda: model(single), budget_s / 2)
    finally:
        torch.set_num_threads(previous)
    return {
        "images_per_s": SPEED_BATCH / min(batch_times),
        "latency_p50_ms": 1000 * statistics.median(single_times),
        "batch": SPEED_BATCH,
        "threads": threads,
    }


def file_mb(path: Path) -> float:
    return path.stat().st_size / 1e6
