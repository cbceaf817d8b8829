"""The speed phase of a bench run: CPU inference speed measured once per architecture, robustly.

Timing each cell right after it trained (as cells once did) measured whatever else the machine did at
that moment: one architecture came out at 208, 1,115 and 1,558 img/s under three balancers. Here every
architecture of the run is timed in the same phase, after a warm-up, in interleaved rounds (A B C, B C A,
C A B, ...), so slow spells of a shared machine fall on all of them alike. Each architecture gets the
median over rounds and the spread (lowest and highest round); the load average before and after, the
thread count and the CPU seconds used are recorded with it. Every cell of an architecture shows that
one figure; ``fer compare`` calls a speed difference whose spreads overlap noise.

The phase is short: ``SpeedSettings.seconds_per_model`` (default 2 s) of timing per architecture.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.bench.environment import load_average

if TYPE_CHECKING:
    from torch import nn

    from fer_core.bench.cell import CellResult
    from fer_core.bench.jobs import Job


@dataclass(frozen=True)
class SpeedSettings:
    seconds_per_model: float = 2.0  # timing budget per architecture, warm-up excluded
    min_rounds: int = 3
    max_rounds: int = 30
    warmup: int = 2  # untimed passes of each architecture before the first round
    batch: int = 64  # throughput batch
    singles: int = 5  # batch-1 timings per architecture per round (latency)


@dataclass
class Subject:
    """One architecture to time: a model of the run (weights do not change its speed) and its input shape."""

    name: str
    model: nn.Module
    channels: int
    size: int


def _figure(batch_rates: Sequence[float], round_latencies: Sequence[float], all_latencies: Sequence[float], cpu_s: float) -> dict:
    return {
        "images_per_s": statistics.median(batch_rates),
        "images_per_s_lo": min(batch_rates),
        "images_per_s_hi": max(batch_rates),
        "latency_p50_ms": statistics.median(all_latencies),
        "latency_p50_ms_lo": min(round_latencies),
        "latency_p50_ms_hi": max(round_latencies),
        "rounds": len(batch_rates),
        "cpu_seconds": round(cpu_s, 3),
    }


def _time_once(s: Subject, batch: Any, single: Any, settings: SpeedSettings, record: dict[str, list[float]]) -> None:
    """One round of one architecture: a batch (throughput), then ``settings.singles`` single images (latency)."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    s.model(batch)
    record["rates"].append(settings.batch / (time.perf_counter() - start))
    these = []
    for _ in range(settings.singles):
        start = time.perf_counter()
        s.model(single)
        these.append(1000 * (time.perf_counter() - start))
    record["cpu"].append(time.process_time() - cpu_start)
    record["latencies"] += these
    record["round_latencies"].append(statistics.median(these))


def _interleave(subjects: Sequence[Subject], settings: SpeedSettings) -> dict[str, dict[str, list[float]]]:
    import torch

    inputs = {}
    for s in subjects:
        batch = torch.randn(settings.batch, s.channels, s.size, s.size, generator=torch.Generator().manual_seed(0))
        inputs[s.name] = (batch, batch[:1].clone())
    keys = ("rates", "latencies", "round_latencies", "cpu")
    records: dict[str, dict[str, list[float]]] = {s.name: {key: [] for key in keys} for s in subjects}
    with torch.inference_mode():
        for s in subjects:
            s.model.eval()
            for _ in range(settings.warmup):
                s.model(inputs[s.name][0])
                s.model(inputs[s.name][1])
        deadline = time.perf_counter() + settings.seconds_per_model * len(subjects)
        rounds = 0
        while rounds < settings.min_rounds or (rounds < settings.max_rounds and time.perf_counter() < deadline):
            shift = rounds % len(subjects)
            for s in [*subjects[shift:], *subjects[:shift]]:  # rotate who goes first
                _time_once(s, *inputs[s.name], settings, records[s.name])
            rounds += 1
    return records


def time_subjects(subjects: Sequence[Subject], threads: int, settings: SpeedSettings = SpeedSettings()) -> dict[str, Any]:
    """Time every subject in interleaved rounds; returns the phase record (``models`` maps name -> figure)."""
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    load_before, started, wall = load_average(), datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    try:
        records = _interleave(subjects, settings)
    finally:
        torch.set_num_threads(previous_threads)
    figures = {name: _figure(r["rates"], r["round_latencies"], r["latencies"], sum(r["cpu"])) for name, r in records.items()}
    for figure in figures.values():
        figure["threads"] = threads
    return {
        "started_at": started,
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "threads": threads,
        "batch": settings.batch,
        "device": "cpu",
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "settings": asdict(settings),
        "models": figures,
    }


def subjects_of_run(run_dir: Path, pairs: Sequence[tuple[Job, CellResult | None]]) -> tuple[list[Subject], dict[str, str], int]:
    """One trained model per architecture (from its first finished cell's checkpoint), errors by model, and the threads."""
    from fer_core.checkpoint import load_checkpoint

    subjects: list[Subject] = []
    errors: dict[str, str] = {}
    threads = 0
    for job, result in pairs:
        if result is None or not result.ok or job.model in {s.name for s in subjects}:
            continue
        threads = threads or int(job.config.get("threads") or os.cpu_count() or 1)
        checkpoint = Path(result.checkpoint)
        checkpoint = checkpoint if checkpoint.is_absolute() else run_dir / checkpoint
        try:
            model, meta = load_checkpoint(checkpoint)
            subjects.append(Subject(job.model, model.cpu(), int(meta["in_channels"]), int(meta["input_size"])))
            errors.pop(job.model, None)
        except Exception as exc:  # a checkpoint that cannot be timed leaves that architecture with its cells' own figures
            errors[job.model] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return subjects, errors, threads or 1


def needs_measuring(previous: Mapping[str, Any], pairs: Sequence[tuple[Job, CellResult | None]], ran: Sequence[str]) -> bool:
    """True when cells ran in this invocation, or an architecture with a finished cell has no figure yet."""
    measured = set(previous.get("models", {}))
    finished = {job.model for job, result in pairs if result is not None and result.ok}
    return bool(ran) or not finished <= measured


def speed_phase(run_dir: Path, pairs: Sequence[tuple[Job, CellResult | None]], settings: SpeedSettings = SpeedSettings()) -> dict[str, Any]:
    """Time every architecture of the run that has a finished cell; {} when none has."""
    subjects, errors, threads = subjects_of_run(run_dir, pairs)
    if not subjects:
        return {"models": {}, "errors": errors} if errors else {}
    phase = time_subjects(subjects, threads, settings)
    if errors:
        phase["errors"] = errors
    return phase
