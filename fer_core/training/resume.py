"""Reading and checking a run folder's saved state: what can be resumed, what clashes, what is finished or damaged.

``saved_run(out_dir)`` is what ``fer train --resume`` reads (the recipe, the data it was trained on, the commands);
``prepare_run_folder`` applies the folder policy of ``train()``; ``check_resumable`` names the first field that differs.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.atomic import ensure_writable_dir
from fer_core.errors import CheckpointError, UsageError
from fer_core.training.recording import BEST, BEST_META, HISTORY, PLOTS, TrainResult, result_of
from fer_core.training.state import STATE_JSON, STATE_WEIGHTS, read_skeleton

if TYPE_CHECKING:
    from fer_core.api import Dataset
    from fer_core.training.config import TrainConfig
    from fer_core.training.loop import RunProgress
    from fer_core.training.progress import EpochProgress

RESULT_FILE = "result.json"  # a finished bench cell's record (fer_core.bench.cell)
FINISHED_MARKERS = (BEST, RESULT_FILE)
PLOT_FILES = ("curves.png", "confusion.png", "per_class_f1.png")


@dataclass(frozen=True)
class SavedRun:
    """The resume state of a run folder, without its tensors."""

    out_dir: Path
    config: dict[str, Any]
    config_hash: str
    data_spec: str | None
    data_options: dict[str, Any]
    data_content_key: str | None
    commands: list[str]
    progress: dict[str, Any]

    @property
    def finished(self) -> bool:
        return bool(self.progress.get("stopped_reason"))

    @property
    def epoch(self) -> int:
        return int(self.progress.get("epoch", 0))


def find_saved_run(out_dir: Path | str) -> SavedRun | None:
    """The saved state in ``out_dir``, or None when it holds none; a damaged or half-present state is one-line error."""
    out_dir = Path(out_dir)
    weights, copy = out_dir / STATE_WEIGHTS, out_dir / STATE_JSON
    if not weights.is_file():
        if copy.is_file():
            raise CheckpointError(
                f"{out_dir}: {STATE_JSON} is there but {STATE_WEIGHTS} is missing, so the run cannot be resumed; "
                f"train into another --out (or replace this run with --overwrite)"
            )
        return None
    try:
        json.loads(copy.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        why = "is missing" if isinstance(exc, FileNotFoundError) else f"is damaged ({type(exc).__name__})"
        raise CheckpointError(f"{out_dir}: {STATE_JSON} {why}; train into another --out (or replace this run with --overwrite)") from None
    return _from_skeleton(out_dir, read_skeleton(out_dir))


def saved_run(out_dir: Path | str) -> SavedRun:
    """The resumable run in ``out_dir`` (for ``fer train --resume``); one-line errors when there is none."""
    out_dir = Path(out_dir)
    saved = find_saved_run(out_dir)
    if saved is not None:
        return saved
    interrupted = interrupted_before_state(out_dir)
    if interrupted is not None:
        raise UsageError(
            f"--resume: {out_dir} holds a run interrupted before its resume state was first saved ({BEST} of epoch {interrupted}); "
            "nothing to resume: start it again with --overwrite"
        )
    finished = [name for name in FINISHED_MARKERS if (out_dir / name).is_file()]
    if finished:
        raise UsageError(f"--resume: {out_dir} holds a finished run ({', '.join(finished)}) whose resume state is gone; nothing to resume")
    raise UsageError(f"--resume: {out_dir} holds no training state to resume (no {STATE_WEIGHTS})")


def interrupted_before_state(out_dir: Path) -> int | None:
    """The epoch of ``best.safetensors`` when it is the only trace of a run stopped before its first resume state (a
    kill or Ctrl-C between the first checkpoint and the first state); None when it records a finished run, or is
    not readable (then it is treated as finished: never replaced without ``--overwrite``)."""
    from fer_core.checkpoint import read_metadata

    best = out_dir / BEST
    if not best.is_file() or (out_dir / RESULT_FILE).is_file():
        return None
    try:
        meta = read_metadata(best)
    except CheckpointError:
        return None
    if meta.get("stopped_reason") != "running":
        return None
    epoch = meta.get("epochs")
    return int(epoch) if isinstance(epoch, int) and not isinstance(epoch, bool) else 0


def _from_skeleton(out_dir: Path, skeleton: Any) -> SavedRun:
    try:
        progress, config = skeleton["progress"], skeleton["config"]
        if not isinstance(progress, dict) or not isinstance(config, dict):
            raise TypeError("progress and config must be objects")
        problem = progress_problem(progress, config.get("epochs"), config.get("max_steps"))
        if problem:
            raise ValueError(problem)
        return SavedRun(
            out_dir=out_dir,
            config=config,
            config_hash=str(skeleton.get("config_hash", "")),
            data_spec=skeleton.get("data_spec"),
            data_options=dict(skeleton.get("data_options") or {}),
            data_content_key=skeleton.get("data_content_key"),
            commands=[str(c) for c in skeleton.get("commands") or []],
            progress=progress,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{out_dir / STATE_WEIGHTS}: training state is malformed ({exc}); train into another --out") from None


def prepare_run_folder(out_dir: Path, *, resume: bool, overwrite: bool) -> SavedRun | None:
    """The state to resume from, or None to start afresh; refuses to replace a run unless ``overwrite``.

    The folder is created and checked for writing first: an unwritable ``--out`` is one line before any training
    (a disk that fills later is one line when it does, and the last complete epoch stays).
    """
    ensure_writable_dir(out_dir, "run folder")
    if overwrite and not resume:
        clear_run(out_dir)
        return None
    saved = find_saved_run(out_dir)
    if saved is not None:
        if resume:
            return saved
        raise UsageError(
            f"{out_dir} already holds a training run; pass --resume to continue it, --overwrite to replace it, or choose another --out"
        )
    finished = [name for name in FINISHED_MARKERS if (out_dir / name).is_file()]
    interrupted = interrupted_before_state(out_dir) if finished and not overwrite else None
    if interrupted is not None:
        raise UsageError(
            f"{out_dir} holds a run interrupted before its resume state was first saved ({BEST} of epoch {interrupted}); "
            "pass --overwrite to start it again, or choose another --out"
        )
    if finished and not overwrite:
        raise UsageError(
            f"{out_dir} holds a finished run ({', '.join(finished)}) and no resume state; "
            "pass --overwrite to replace it, or choose another --out"
        )
    if finished:
        clear_run(out_dir)
    return None


def clear_run(out_dir: Path) -> None:
    """Remove what a previous run wrote into ``out_dir`` (its checkpoint, state, history, plots, bench record)."""
    for name in (STATE_WEIGHTS, STATE_JSON, BEST, BEST_META, HISTORY, RESULT_FILE):
        (out_dir / name).unlink(missing_ok=True)
    for name in PLOT_FILES:
        (out_dir / PLOTS / name).unlink(missing_ok=True)


def data_content_key(dataset: Dataset) -> str:
    """A hash of what training reads: the classes and the train and val images and labels."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps(list(dataset.classes)).encode())
    for name in ("train", "val"):
        split = dataset.splits[name]
        for array in (split.images, split.labels.astype(np.int64)):
            array = np.ascontiguousarray(array)
            digest.update(f"{name}{array.dtype}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def check_resumable(saved: SavedRun, config: TrainConfig, data_spec: str | None, data_options: dict[str, Any], content_key: str) -> None:
    """Raise a one-line UsageError naming each field of the recipe or the data that differs from the saved run."""
    differences = _recipe_differences(saved, config)
    if saved.data_spec != data_spec:
        differences.append(f"data is {saved.data_spec!r} there, {data_spec!r} here")
    if _canonical(saved.data_options) != _canonical(data_options):
        differences.append(f"data options are {_canonical(saved.data_options)} there, {_canonical(data_options)} here")
    if saved.data_content_key is not None and saved.data_content_key != content_key and saved.data_spec == data_spec:
        differences.append("the data's images or labels differ (same spec, other content)")
    if differences:
        raise UsageError(
            f"{saved.out_dir} holds a run with another recipe: {'; '.join(differences)}; "
            "resume with the same settings or choose another --out"
        )


def _recipe_differences(saved: SavedRun, config: TrainConfig) -> list[str]:
    here_hash = config.config_hash()
    if saved.config_hash == here_hash:
        return []
    given = config.to_dict()
    found = []
    for key in sorted(set(saved.config) | set(given)):
        there, here = saved.config.get(key), given.get(key)
        if _canonical(there) != _canonical(here) and _is_hashed(config, key, there, here_hash):
            found.append(f"{key} is {_canonical(there)} there, {_canonical(here)} here")
    return found or [f"config {saved.config_hash} there, {here_hash} here"]


def _is_hashed(config: TrainConfig, key: str, value: Any, here_hash: str) -> bool:
    """Whether ``key`` belongs to the recipe: giving it the saved value changes the hash (threads and device do not)."""
    try:
        return replace(config, **{key: value}).config_hash() != here_hash
    except Exception:  # an unknown or now invalid field: part of what differs
        return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def progress_from(saved: dict[str, Any], where: Path | None = None) -> RunProgress:
    """The run's counters from a saved ``progress`` dict (keys this version does not know are left out); a value of
    the wrong type or range (a damaged or forged state) is one ``CheckpointError``."""
    from fer_core.training.loop import RunProgress

    problem = progress_problem(saved) if isinstance(saved, dict) else "progress must be an object"
    if problem:
        prefix = f"{where}: " if where is not None else ""
        raise CheckpointError(f"{prefix}training state is malformed ({problem}); train into another --out")
    known = {f.name for f in fields(RunProgress)}
    return RunProgress(**{k: v for k, v in saved.items() if k in known})


def progress_problem(progress: dict[str, Any], epochs: Any = None, max_steps: Any = None) -> str | None:
    """What is wrong with a saved ``progress`` dict (types, ranges, an epoch or a step count past the recipe's), or
    None."""

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

    checks = {
        "epoch": whole,
        "best_epoch": whole,
        "bad_epochs": whole,
        "steps": whole,
        "best_macro_f1": number,
        "train_seconds": lambda v: number(v) and v >= 0,
        "stopped_reason": lambda v: isinstance(v, str),
        "history": lambda v: isinstance(v, list) and all(isinstance(row, dict) for row in v),
        "best_val_metrics": lambda v: isinstance(v, dict),
    }
    for key, valid in checks.items():
        if key in progress and not valid(progress[key]):
            return f"progress.{key} is {json.dumps(progress[key], default=str)[:40]}"
    epoch = progress.get("epoch", 0)
    if progress.get("best_epoch", 0) > epoch:
        return f"progress.best_epoch {progress['best_epoch']} is after progress.epoch {epoch}"
    if whole(epochs) and epoch > epochs:
        return f"progress.epoch {epoch} is past the recipe's {epochs} epochs"
    steps = progress.get("steps", 0)
    if whole(max_steps) and steps > max_steps:
        return f"progress.steps {steps} is past the recipe's {max_steps} max steps"
    return None


def finished_result(saved: SavedRun, show: EpochProgress) -> TrainResult:
    """The result of a finished run, read back from its folder: nothing is retrained, balanced or rewritten."""
    from fer_core.checkpoint import load_checkpoint

    best = saved.out_dir / BEST
    if not best.is_file():
        raise CheckpointError(f"{saved.out_dir}: the run is finished but {BEST} is missing; train into another --out")
    model, meta = load_checkpoint(best)
    progress = progress_from(saved.progress, saved.out_dir / STATE_WEIGHTS)
    show.message(
        f"{saved.out_dir} holds a finished run (stopped: {progress.stopped_reason} after epoch {progress.epoch}); nothing to resume"
    )
    plots = [saved.out_dir / PLOTS / name for name in PLOT_FILES if (saved.out_dir / PLOTS / name).is_file()]
    return result_of(best, meta, progress, dict(meta.get("balancer_report") or {}), plots, model)
