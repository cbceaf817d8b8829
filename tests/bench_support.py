"""Shared pieces of the fer bench tests: a tiny demo dataset and models that fail in known ways."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import torch
from torch import nn

from fer_core.api import Dataset, ModelPlugin
from fer_core.data.loading import load_dataset
from tests.fakedist import PluginSandbox, private_registry

FAST = {"threads": 1, "batch_size": 32}


@cache
def tiny_demo() -> Dataset:
    return load_dataset("demo", options={"train": 140, "val": 70, "test": 70})


class _NanNet(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(1, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(1, 2, 3)).unsqueeze(1)) * float("nan")


class _OutOfMemoryNet(_NanNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise MemoryError("simulated out of memory")


class NanModel(ModelPlugin):
    description = "Test model whose logits are NaN: training diverges."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return _NanNet(num_classes)


class OutOfMemoryModel(ModelPlugin):
    description = "Test model that runs out of memory in its first forward pass."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return _OutOfMemoryNet(num_classes)


@contextmanager
def failing_models(site: Path) -> Iterator[PluginSandbox]:
    """The shared private registry (``tests.fakedist.private_registry``) plus ``nan_model`` and ``oom_model``."""
    with private_registry(site) as sandbox:
        sandbox.add("models", "nan_model", NanModel)
        sandbox.add("models", "oom_model", OutOfMemoryModel)
        yield sandbox


def hand_made_pair(
    model: str,
    balancer: str,
    seed: int,
    metrics: dict[str, dict],
    *,
    speed: dict | None = None,
    classes: tuple[str, ...] = ("angry", "happy", "sad"),
    synthetic: bool = False,
    fold: int | None = None,
    protocol: str = "toy:3cls",
):
    """A (Job, CellResult) of a finished cell with the given per-split ``metrics`` (no training)."""
    from fer_core.bench.cell import CellResult
    from fer_core.bench.jobs import Job, cell_id_for

    cell_id = cell_id_for(model, balancer, seed) + (f"__f{fold}" if fold is not None else "")
    config = {"model": model, **({"fold": fold} if fold is not None else {})}
    job = Job(cell_id, model, balancer, seed, "data", config, "h" + cell_id, f"cells/{cell_id}")
    result = CellResult(
        cell_id=cell_id,
        model=model,
        balancer=balancer,
        seed=seed,
        data="data",
        config_hash=job.config_hash,
        status="ok",
        config=config,
        dataset={"name": "toy", "protocol": protocol, "synthetic": synthetic, "classes": list(classes), "splits": {"train": 30}},
        params=1000,
        mflops=1.5,
        epochs_run=3,
        best_epoch=2,
        train_seconds=12.0,
        speed=speed or {"images_per_s": 100.0, "latency_p50_ms": 2.0, "threads": 1},
        metrics=metrics,
    )
    return job, result


def write_run_folder(run_dir, pairs, speed: dict | None = None) -> None:
    """A run folder as fer bench leaves it (run.json, each cell's result.json, optional speed.json), from hand-made pairs."""
    from fer_core import atomic
    from fer_core.bench.cell import RESULT_FILE
    from fer_core.bench.store import write_run, write_speed

    run_dir.mkdir(parents=True, exist_ok=True)
    write_run(run_dir, {"name": run_dir.name, "spec": {"data": "data"}, "invocations": [], "jobs": [job.to_dict() for job, _ in pairs]})
    for job, result in pairs:
        if result is not None:
            (run_dir / job.cell_dir).mkdir(parents=True, exist_ok=True)
            atomic.write_json(run_dir / job.cell_dir / RESULT_FILE, result.to_dict())
    if speed is not None:
        write_speed(run_dir, speed)
