"""Train a model plugin on an in-memory dataset: fast on CPU, reproducible, resumable.

``train`` wires the parts, each a module with one job: ``setup`` (conformed data, balancing, model, optimizer,
scheduler, criterion, built once), ``loop`` (the epochs), ``recording`` (checkpoint, state, history, plots, metadata)
and ``resume`` (reading and checking a folder's saved state). A run resumed from the state saved after epoch k is
bit-identical to one that never stopped (on the CPU; on a GPU, cuDNN's kernel choices and atomic adds make the last
bits differ). The state is written atomically after every epoch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.api import Dataset
from fer_core.atomic import ensure_writable_dir
from fer_core.bench.lock import training_lock
from fer_core.errors import CheckpointError, DataError
from fer_core.training.config import TrainConfig
from fer_core.training.device import resolve_device
from fer_core.training.loop import GPU_SYNC_EVERY, RunProgress, epoch_torch_seed, fit
from fer_core.training.progress import EpochProgress
from fer_core.training.recording import BEST, HISTORY, PLOTS, Recorder, TrainResult, base_meta, default_command
from fer_core.training.resume import SavedRun, check_resumable, data_content_key, finished_result, prepare_run_folder, progress_from
from fer_core.training.setup import TrainingSetup, build_setup, match_state_layout

if TYPE_CHECKING:
    import torch

__all__ = ["BEST", "GPU_SYNC_EVERY", "HISTORY", "PLOTS", "TrainResult", "epoch_torch_seed", "train"]


def train(
    config: TrainConfig,
    dataset: Dataset,
    out_dir: Path | str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    command: str | None = None,
    quiet: bool = False,
    data_spec: str | None = None,
    data_options: dict[str, Any] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train ``config.model`` on ``dataset`` (splits ``train`` and ``val``), write the run into ``out_dir``, and return
    it with the best model in memory (``TrainResult.model``).

    ``resume`` continues the saved state in ``out_dir`` (a fresh start when there is none); the recipe, the data spec,
    its options and the data's content must match it, and a finished run is returned as it is, untouched.
    A folder holding another run (resumable or finished) is refused unless ``overwrite``, which replaces it.
    ``config.time_budget_s`` caps the training wall time, first epoch included: the epoch running when it is spent
    stops after its current batch, is validated and recorded (``epoch_fraction`` in the history, stopped reason
    ``time_budget``); the cap is overshot by at most one batch plus one validation.
    ``data_spec``/``data_options`` record what ``load_dataset`` was given, so eval and resume can reload it.
    ``command`` is recorded as the run's exact command (a resume appends it to ``commands``).
    ``on_batch(epoch, batch)`` is called before each training batch (tests use it to interrupt a run).
    """
    out_dir = Path(out_dir)
    for name in ("train", "val"):
        if name not in dataset.splits or len(dataset.splits[name]) == 0:
            raise DataError(f"dataset '{dataset.name}' needs a non-empty '{name}' split; it has {', '.join(dataset.splits) or 'none'}")
    data = (data_spec, dict(data_options or {}), data_content_key(dataset))
    show = EpochProgress(quiet)
    this_command = command if command is not None else default_command()
    ensure_writable_dir(out_dir, "run folder")  # an unwritable --out is one line before the lock or any work
    with training_lock(out_dir, this_command):  # a second process training into out_dir stops in one line
        saved = prepare_run_folder(out_dir, resume=resume, overwrite=overwrite)
        if saved is not None:
            check_resumable(saved, config, *data)
            if saved.finished:
                return finished_result(saved, show)
        device = resolve_device(config.device, config.precision)
        commands = [*(saved.commands if saved else []), this_command]
        with _torch_settings(config, device):
            setup = build_setup(config, dataset, device, show)
            recorder = Recorder(out_dir, base_meta(setup, commands, data), show)
            progress = RunProgress() if saved is None else restore(setup, saved, show)
            fit(setup, progress, recorder, show, on_batch)
            return recorder.finish(setup, progress)


@contextmanager
def _torch_settings(config: TrainConfig, device: torch.device) -> Iterator[None]:
    """Thread counts and cuDNN autotuning for the run; the caller's settings come back afterwards."""
    import cv2
    import torch

    previous_threads, previous_cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    previous_benchmark = torch.backends.cudnn.benchmark
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    cv2.setNumThreads(1)  # 48x48 warps gain nothing from OpenCV's thread pool, and its threads fight torch's for the cores
    torch.backends.cudnn.benchmark = previous_benchmark or device.type == "cuda"  # fixed shapes: cuDNN picks its fastest kernels once
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        cv2.setNumThreads(previous_cv2_threads)
        torch.backends.cudnn.benchmark = previous_benchmark


def restore(setup: TrainingSetup, saved: SavedRun, show: EpochProgress) -> RunProgress:
    """Load the saved model, optimizer and scheduler state into ``setup``; the run's counters come back."""
    from fer_core.training.state import STATE_WEIGHTS, load_state

    state = load_state(saved.out_dir)
    if state is None:
        raise CheckpointError(f"{saved.out_dir}: the training state disappeared while the run was being set up")
    where = saved.out_dir / STATE_WEIGHTS
    try:
        setup.model.load_state_dict(state["model"])
        setup.optimizer.load_state_dict(state["optimizer"])
        if setup.scheduler is not None:
            setup.scheduler.load_state_dict(state["scheduler"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a damaged or forged state, or another run's
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(
            f"{where}: the training state does not fit this run ({why}); train into another --out or pass --overwrite"
        ) from None
    match_state_layout(setup.optimizer)
    progress = progress_from(state["progress"], where)
    show.message(f"resuming {saved.out_dir} after epoch {progress.epoch}")
    return progress
