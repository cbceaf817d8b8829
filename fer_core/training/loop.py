"""The epoch loop: seeding, batching, the autocast forward pass, NaN checks and scheduling, as small functions.

Each epoch draws its data order and augmentation from ``np.random.default_rng([seed, epoch])`` and seeds torch (dropout)
from the same pair, so a run resumed from the state saved after epoch k is bit-identical to one that never stopped
(on the CPU).

A time budget is a cap on the run's wall time (``train_seconds``, validation included, first epoch included): after
each batch, when the budget is spent, the epoch stops there, is validated and recorded with the fraction that ran.
The cap is overshot by at most one batch plus one validation (and the writing of the state).

A step budget (``max_steps``) counts optimizer steps over the run: the epoch in which it is reached stops after that
batch, exactly, whatever the machine's load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fer_core.preprocess import normalise, to_nchw_float
from fer_core.training.metrics import macro_f1_from_confusion

if TYPE_CHECKING:
    import torch

    from fer_core.training.progress import EpochProgress
    from fer_core.training.recording import Recorder
    from fer_core.training.setup import TrainingSetup

# On a GPU the loss and the running confusion stay on the device; the host reads them (and checks the loss for NaN)
# every this many batches, so that it can queue the next batches while the GPU works.
GPU_SYNC_EVERY = 50
# Every duration of the loop (epoch seconds, the time budget) is read from this clock; tests replace it.
clock: Callable[[], float] = time.perf_counter


@dataclass
class RunProgress:
    """The scalars of a run that its state file carries between epochs."""

    epoch: int = 0
    best_macro_f1: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    train_seconds: float = 0.0
    steps: int = 0
    stopped_reason: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    best_val_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpochOutcome:
    """What one (possibly cut short) training epoch measured."""

    stats: dict[str, float]
    batches_run: int
    batches: int
    lr_first: float
    lr_last: float

    @property
    def complete(self) -> bool:
        return self.batches_run == self.batches


class Diverged(Exception):  # an internal signal, turned into TrainingDivergedError by fit
    def __init__(self, epoch: int, batch: int, value: float, within: int = 1) -> None:
        super().__init__(epoch, batch, value, within)
        self.epoch, self.batch, self.value, self.within = epoch, batch, value, within


def epoch_torch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)


def epoch_order(rng: np.random.Generator, n: int, sample_weights: np.ndarray | None) -> np.ndarray:
    """A permutation, or ``n`` draws with replacement in proportion to ``sample_weights``."""
    if sample_weights is None:
        return rng.permutation(n)
    p = np.asarray(sample_weights, dtype=np.float64)
    return rng.choice(n, size=n, replace=True, p=p / p.sum())


def split_batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Consecutive batches; a last batch of one sample is dropped (batch norm cannot train on it)."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


def seed_epoch(setup: TrainingSetup, epoch: int) -> tuple[np.random.Generator, list[np.ndarray], torch.Generator | None]:
    """The epoch's numpy generator, its batches and (for a tensor augmenter) its torch generator; seeds torch."""
    import torch

    seed = setup.config.seed
    rng = np.random.default_rng([seed, epoch])
    torch.manual_seed(epoch_torch_seed(seed, epoch))
    batches = split_batches(epoch_order(rng, len(setup.labels), setup.balanced.sample_weights), setup.config.batch_size)
    generator = torch.Generator(setup.device).manual_seed(int(rng.integers(2**62))) if setup.tensor_augment else None
    return rng, batches, generator


def make_batch(
    setup: TrainingSetup, idx: np.ndarray, rng: np.random.Generator, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (augmented, normalised) inputs and the labels of one batch, on the training device."""
    import torch

    index = torch.from_numpy(idx)
    on_device = index.to(setup.device, non_blocking=True)
    if setup.numpy_augment:
        augmented = torch.from_numpy(setup.augmenter(setup.images[index].numpy(), rng))
        x = to_nchw_float(augmented.to(setup.device, non_blocking=True))
    else:
        x = to_nchw_float(setup.device_images[on_device])
        if setup.tensor_augment:
            x = setup.augmenter.augment_tensor(x, generator)
    return normalise(x, setup.prep).contiguous(memory_format=setup.memory_format), setup.device_labels[on_device]


def forward_loss(setup: TrainingSetup, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (under bf16 autocast when asked) and the float32 loss."""
    import torch

    with torch.autocast(setup.device.type, dtype=torch.bfloat16, enabled=setup.config.precision == "bf16"):
        logits = setup.model(x)
    return logits, setup.criterion(logits.float(), y)


def optimizer_step(setup: TrainingSetup, loss: torch.Tensor) -> None:
    """Backward, step, and the per-batch step of a cosine schedule."""
    setup.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    setup.optimizer.step()
    if setup.scheduler is not None and setup.config.schedule == "cosine":
        setup.scheduler.step()


def check_finite(value: float, epoch: int, batch: int, within: int = 1) -> None:
    if not np.isfinite(value):
        raise Diverged(epoch, batch, value, within)


class _Tally:
    """The epoch's running loss and confusion, kept on the device; ``sync`` reads them on the host."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        import torch

        self.k = num_classes
        self.confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.seen = self.synced = 0
        self.mean_loss, self.counts = float("nan"), np.zeros((num_classes, num_classes), dtype=np.int64)

    def add(self, logits: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        import torch

        self.confusion += torch.bincount(y * self.k + logits.detach().argmax(dim=1), minlength=self.k * self.k)
        self.loss_sum += loss.detach().double() * len(y)
        self.seen += len(y)

    def sync(self, epoch: int, batches_done: int, show: EpochProgress) -> None:
        self.mean_loss, self.counts = float(self.loss_sum) / self.seen, self.confusion.view(self.k, self.k).cpu().numpy()
        check_finite(self.mean_loss, epoch, batches_done - 1, within=batches_done - self.synced)
        show.advance(self.mean_loss, np.trace(self.counts) / self.seen, macro_f1_from_confusion(self.counts), batches_done - self.synced)
        self.synced = batches_done

    def stats(self, seconds: float) -> dict[str, float]:
        return {
            "train_images_per_s": round(self.seen / max(seconds, 1e-9), 1),
            "train_loss": self.mean_loss,
            "train_acc": float(np.trace(self.counts) / self.seen),
            "train_macro_f1": macro_f1_from_confusion(self.counts),
        }


def train_epoch(
    setup: TrainingSetup,
    epoch: int,
    show: EpochProgress,
    *,
    on_batch: Callable[[int, int], None] | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
    steps_left: int | None = None,
) -> EpochOutcome:
    """One epoch, or its first batches: up to the one after which ``out_of_time()`` says the budget is spent, and
    at most ``steps_left``."""
    rng, batches, generator = seed_epoch(setup, epoch)
    sync_every = 1 if setup.device.type == "cpu" else GPU_SYNC_EVERY
    tally = _Tally(len(setup.classes), setup.device)
    lr_first = lr_last = setup.lr
    done = 0
    allowed = batches if steps_left is None else batches[:steps_left]
    setup.model.train()
    started = clock()
    show.start(epoch, setup.config.epochs, len(allowed))
    try:
        for b, idx in enumerate(allowed):
            if on_batch is not None:
                on_batch(epoch, b)
            x, y = make_batch(setup, idx, rng, generator)
            logits, loss = forward_loss(setup, x, y)
            if sync_every == 1:
                check_finite(float(loss.detach()), epoch, b)
            lr_last = setup.lr
            optimizer_step(setup, loss)
            tally.add(logits, y, loss)
            done = b + 1
            cut = done < len(allowed) and out_of_time()
            if done % sync_every == 0 or done == len(allowed) or cut:
                tally.sync(epoch, done, show)
            if cut:
                break
    finally:
        show.stop()
    return EpochOutcome(tally.stats(clock() - started), done, len(batches), lr_first, lr_last)


def stop_reason(setup: TrainingSetup, progress: RunProgress, outcome: EpochOutcome) -> str:
    config = setup.config
    if config.max_steps is not None and progress.steps >= config.max_steps:
        return "max_steps"
    if not outcome.complete:
        return "time_budget"
    if progress.epoch >= config.epochs:
        return "max_epochs"
    if config.patience and progress.bad_epochs >= config.patience:
        return "early_stopping"
    if config.time_budget_s is not None and progress.train_seconds >= config.time_budget_s:
        return "time_budget"
    return ""


def epoch_row(epoch: int, outcome: EpochOutcome, val_metrics: dict[str, Any], seconds: float, cpu_seconds: float) -> dict[str, Any]:
    return {
        "epoch": epoch,
        **outcome.stats,
        "val_loss": val_metrics["loss"],
        "val_acc": val_metrics["accuracy"],
        "val_macro_f1": val_metrics["macro_f1"],
        "lr": outcome.lr_first,
        "lr_last": outcome.lr_last,
        "epoch_fraction": round(outcome.batches_run / outcome.batches, 4),
        "seconds": round(seconds, 3),
        # CPU seconds of this process: on a shared machine, wall time overstates what the run cost.
        "cpu_seconds": round(cpu_seconds, 3),
    }


def run_epoch(setup: TrainingSetup, progress: RunProgress, recorder: Recorder, show: EpochProgress, on_batch: Any) -> None:
    """Train, validate and record the next epoch; sets ``progress.stopped_reason`` when the run ends."""
    epoch = progress.epoch + 1
    started, cpu_started = clock(), time.process_time()
    budget = setup.config.time_budget_s
    spent = progress.train_seconds

    def out_of_time() -> bool:
        return budget is not None and spent + clock() - started >= budget

    steps_left = None if setup.config.max_steps is None else setup.config.max_steps - progress.steps
    outcome = train_epoch(setup, epoch, show, on_batch=on_batch, out_of_time=out_of_time, steps_left=steps_left)
    val_metrics = recorder.validate(setup.model, setup.val)
    seconds = clock() - started
    row = epoch_row(epoch, outcome, val_metrics, seconds, time.process_time() - cpu_started)
    progress.epoch, progress.train_seconds = epoch, progress.train_seconds + seconds
    progress.steps += outcome.batches_run
    progress.history.append(row)
    improved = val_metrics["macro_f1"] > progress.best_macro_f1
    if improved:
        progress.best_macro_f1, progress.best_epoch, progress.bad_epochs = val_metrics["macro_f1"], epoch, 0
        progress.best_val_metrics = val_metrics
        recorder.save_best(setup.model, progress)
    else:
        progress.bad_epochs += 1
    if setup.config.schedule == "plateau":
        setup.scheduler.step(val_metrics["macro_f1"])
    progress.stopped_reason = stop_reason(setup, progress, outcome)
    recorder.save_state(setup, progress)
    show.epoch_done(row, improved)


def fit(setup: TrainingSetup, progress: RunProgress, recorder: Recorder, show: EpochProgress, on_batch: Any = None) -> None:
    """Epochs until a stopping rule fires; a NaN or infinite loss raises ``TrainingDivergedError`` naming where."""
    from fer_core.errors import TrainingDivergedError

    while not progress.stopped_reason:
        try:
            run_epoch(setup, progress, recorder, show, on_batch)
        except Diverged as bad:
            last_good = f"the state after epoch {progress.epoch} is kept" if progress.epoch else "no epoch had completed"
            where = f"batch {bad.batch + 1}" if bad.within == 1 else f"one of batches {max(1, bad.batch + 2 - bad.within)}-{bad.batch + 1}"
            raise TrainingDivergedError(
                f"training diverged: loss became {bad.value} at epoch {bad.epoch}, {where} (lr {setup.lr:g}); "
                f"{last_good} in {recorder.out_dir}. Lower --lr or check the data."
            ) from None
