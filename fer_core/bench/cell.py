"""One grid cell: train, evaluate on every split, measure the model, and record it in ``result.json``.

``result.json`` appears atomically once the cell has finished, successfully (status ``ok``) or not
(``failed``, with the error's first line; the traceback goes to ``error.txt``). A cell folder
without it is unfinished: the trainer's resume state inside is picked up on the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.bench import schema

if TYPE_CHECKING:
    from fer_core.api import Dataset
    from fer_core.bench.jobs import Job

RESULT_FILE = "result.json"
STATE_JSON = "state.json"  # the trainer's readable copy of its resume state (fer_core.training.state)
ERROR_FILE = "error.txt"
OK, FAILED = "ok", "failed"
# What a cell keeps of each split's metrics: every per-split score the results schema names, plus the tables.
METRIC_KEYS = (*(m.name for m in schema.split_metrics()), "per_class", "confusion", "confusion_normalized")
SHARED_CLASS_KEYS = ("data", "n", "scored_classes", "classes_dropped", "images_dropped", "model_classes_unscored")
_TEST_DATASETS: dict[str, Dataset] = {}  # --test-data, loaded once per process and shared by its cells


@dataclass
class CellResult:
    """Everything the reports need about one cell, so they can be rebuilt without retraining."""

    cell_id: str
    model: str
    balancer: str
    seed: int
    data: str
    config_hash: str
    status: str
    fold: int | None = None
    test_data: str | None = None  # the dataset the test metrics come from when it is not ``data`` (fer bench --test-data)
    error: str = ""
    failed_step: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    plugin: dict[str, str] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    params: int | None = None
    mflops: float | None = None
    input_size: int | None = None
    channels: int | None = None
    checkpoint: str = ""
    checkpoint_mb: float | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    train_seconds: float | None = None
    train_device: str = ""
    stopped_reason: str = ""
    speed: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance_report: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    wall_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def failed(cls, job: Job, **known: Any) -> CellResult:
        """A failed result for ``job``, with whatever else is already ``known``; a finished cell overwrites the status."""
        identity = {
            "cell_id": job.cell_id,
            "model": job.model,
            "balancer": job.balancer,
            "seed": job.seed,
            "data": job.data,
            "fold": job.fold,
            "test_data": job.test_data,
        }
        return cls(**identity, config_hash=job.config_hash, status=FAILED, config=job.config, **known)


def read_result(cell_dir: Path) -> CellResult | None:
    """The finished result of a cell, or None when it has none (never run, interrupted, unreadable)."""
    path = cell_dir / RESULT_FILE
    try:
        return CellResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def clear_cell(cell_dir: Path) -> None:
    """Forget a cell's previous attempt (failed, or made with another config) so it restarts from scratch."""
    if cell_dir.is_dir():
        shutil.rmtree(cell_dir)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _plugin_origin(kind: str, name: str) -> dict[str, str]:
    from fer_core.registry import get_registry

    lowered = name.lower()
    for entry in get_registry().entries(kind):
        if entry.name.lower() == lowered or (entry.is_namespace and lowered.startswith(entry.name[:-1].lower())):
            return {"distribution": entry.distribution, "version": entry.version}
    return {"distribution": "?", "version": "?"}


def _describe_dataset(dataset: Dataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "protocol": dataset.protocol,
        "synthetic": dataset.synthetic,
        "classes": list(dataset.classes),
        "splits": {name: len(split) for name, split in dataset.splits.items()},
    }


def _keep_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in METRIC_KEYS if k in metrics}


def _stale_state(cell_dir: Path, job: Job) -> bool:
    """True when an interrupted attempt in ``cell_dir`` was made with another recipe or data (so it cannot be resumed)."""
    from fer_core.errors import FerError
    from fer_core.training.resume import find_saved_run

    try:
        saved = find_saved_run(cell_dir)
    except FerError:  # damaged: the trainer reports it in one line and the cell fails, not silently restarted
        return False
    return saved is not None and (saved.config_hash != job.config_hash or saved.data_spec != job.data)


def _train_and_measure(job: Job, dataset: Dataset, cell_dir: Path, result: CellResult, command: str | None) -> None:
    import torch

    from fer_core.bench import measure
    from fer_core.data.splits import fold_dataset
    from fer_core.training.config import TrainConfig
    from fer_core.training.evaluate import evaluate_model
    from fer_core.training.trainer import train

    result.failed_step = "train"
    config = TrainConfig.from_dict(job.config)
    dataset = fold_dataset(dataset, config.fold)  # with folds: the fold's train/val/test, test the held-out fold
    result.dataset = _describe_dataset(dataset)
    # resume=True continues an interrupted attempt from its saved state, or starts fresh when there is none; the cell
    # folder belongs to this job, so a leftover finished attempt without result.json is replaced (overwrite=True)
    trained = train(config, dataset, cell_dir, resume=True, overwrite=True, command=command, quiet=True, data_spec=job.data)
    result.epochs_run, result.best_epoch = trained.epochs_run, trained.best_epoch
    result.train_seconds, result.stopped_reason = trained.train_seconds, str(trained.stopped_reason or "")
    result.train_device = str(trained.meta.get("device", ""))
    result.balance_report = dict(trained.balance_report or {})
    result.metrics["val"] = _keep_metrics(trained.val_metrics)

    result.failed_step = "evaluate"
    checkpoint, model, meta = Path(trained.checkpoint), trained.model, trained.meta
    inside = checkpoint.resolve().is_relative_to(cell_dir.resolve())
    result.checkpoint = str(Path(job.cell_dir) / checkpoint.resolve().relative_to(cell_dir.resolve())) if inside else str(checkpoint)
    result.checkpoint_mb = measure.file_mb(checkpoint)
    if job.test_data:  # every image of another dataset, on the classes it shares with this one
        result.failed_step = "evaluate on --test-data"
        measured = evaluate_model(model, meta, _test_dataset(job.test_data), split="all")
        result.metrics["test"] = {**_keep_metrics(measured), **{k: measured[k] for k in SHARED_CLASS_KEYS if k in measured}}
    elif "test" in dataset.splits:  # the model train() returned: scored as validation scored it, nothing reloaded
        result.metrics["test"] = _keep_metrics(evaluate_model(model, meta, dataset, split="test"))

    result.failed_step = "measure"
    channels, size = int(meta["in_channels"]), int(meta["input_size"])
    result.channels, result.input_size = channels, size
    # measured on the CPU in the contiguous layout, as a checkpoint loaded by `fer predict` runs
    model = model.to(device="cpu", memory_format=torch.contiguous_format)
    result.params = measure.param_count(model)
    result.mflops = measure.count_mflops(model, channels, size)
    result.speed = measure.inference_speed(model, channels, size, threads=config.threads or os.cpu_count() or 1)
    result.failed_step = ""


def _test_dataset(spec: str) -> Dataset:
    from fer_core.data.loading import load_dataset

    if spec not in _TEST_DATASETS:
        _TEST_DATASETS[spec] = load_dataset(spec)
    return _TEST_DATASETS[spec]


def _drop_resume_state(cell_dir: Path) -> None:
    """A finished cell never resumes; its optimizer state is up to 3x the model's size on disk."""
    from fer_core.training.state import STATE_WEIGHTS

    for name in (STATE_WEIGHTS, STATE_JSON):
        (cell_dir / name).unlink(missing_ok=True)


def execute_cell(job: Job, run_dir: Path, dataset: Dataset | None, *, command: str | None = None) -> CellResult:
    cell_dir = run_dir / job.cell_dir
    previous = read_result(cell_dir)
    if previous is not None or _stale_state(cell_dir, job):  # failed or outdated: start over, do not resume
        clear_cell(cell_dir)
    cell_dir.mkdir(parents=True, exist_ok=True)
    result = CellResult.failed(job, started_at=_now())
    start = time.perf_counter()
    try:
        result.plugin = _plugin_origin("models", job.model)
        result.failed_step = "load data"
        if dataset is None:
            from fer_core.data.loading import load_dataset

            dataset = load_dataset(job.data)
        result.dataset = _describe_dataset(dataset)
        _train_and_measure(job, dataset, cell_dir, result, command)
        result.status = OK
        _drop_resume_state(cell_dir)
    except Exception as exc:  # a failing cell is a result, not the end of the grid (MemoryError included)
        result.error = _first_line(exc)
        atomic.write_text(cell_dir / ERROR_FILE, f"cell {job.cell_id} failed while: {result.failed_step}\n\n{traceback.format_exc()}")
    result.finished_at = _now()
    result.wall_seconds = time.perf_counter() - start
    atomic.write_json(cell_dir / RESULT_FILE, result.to_dict())
    return result
