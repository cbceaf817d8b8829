"""Cost of a trained model: parameters, multiply-adds per image, checkpoint size and CPU inference speed.

Speed is measured briefly (about a second per cell). Throughput comes from the fastest of several
batch timings, which other load on a shared machine can only slow down, so it varies least between
runs; latency is the median single-image time, as asked of a p50.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

SPEED_BATCH = 64
SPEED_BUDGET_S = 0.6
MAX_REPEATS = 20


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _macs_per_image(model: nn.Module, channels: int, size: int) -> int:
    try:
        from fer_core.flops import macs_per_image
    except ImportError:  # the zoo's counter is not installed yet: the same count, done here
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model.eval()(torch.zeros(1, channels, size, size))
        return counter.get_total_flops() // 2
    return macs_per_image(model, channels, size)


def count_mflops(model: nn.Module, channels: int, size: int) -> float | None:
    """Millions of multiply-adds for one image, counted as torchvision and timm count FLOPs; None if uncountable."""
    try:
        return _macs_per_image(model, channels, size) / 1e6
    except Exception:  # an exotic op the counter cannot trace must not fail the cell
        return None


def _timings(run: Any, budget_s: float) -> list[float]:
    run()  # warm-up: allocator, kernels
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < MAX_REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


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
            batch_times = _timings(lambda: model(batch), budget_s / 2)
            single_times = _timings(lambda: model(single), budget_s / 2)
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
