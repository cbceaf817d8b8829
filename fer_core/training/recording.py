"""What a training run leaves behind: the best checkpoint, the resume state, the history, the plots, and its meta dict.

The best weights are kept in memory (a copy of the ``state_dict`` on each improvement); ``best.safetensors`` is
written once per improvement (so a kill never loses it) and once more at the end with the final record.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core import atomic
from fer_core.training.device import describe_device
from fer_core.training.state import save_state

if TYPE_CHECKING:
    import torch
    from torch import nn

    from fer_core.api import Split
    from fer_core.training.loop import RunProgress
    from fer_core.training.progress import EpochProgress
    from fer_core.training.setup import TrainingSetup

BEST = "best.safetensors"
BEST_META = "best.json"
HISTORY = "history.json"
PLOTS = "plots"


@dataclass
class TrainResult:
    """A finished run: ``model`` holds the best weights (eval mode, on the device it trained on), ``checkpoint`` their file."""

    checkpoint: Path
    meta: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int
    epochs_run: int
    train_seconds: float
    val_metrics: dict[str, Any]
    balance_report: dict[str, Any]
    stopped_reason: str
    plots: list[Path] = field(default_factory=list)
    model: nn.Module | None = None

    def __repr__(self) -> str:
        metrics = self.val_metrics or {}
        scores = ", ".join(f"val_{k}={metrics[k]:.4f}" for k in ("accuracy", "macro_f1") if isinstance(metrics.get(k), float))
        model, epochs = self.meta.get("model", "?"), f"{self.best_epoch}/{self.epochs_run}"
        return f"TrainResult({model!r}, best_epoch={epochs}, {scores}, out_dir='{self.checkpoint.parent}')"


def base_meta(setup: TrainingSetup, commands: list[str], data: tuple[str | None, dict[str, Any], str]) -> dict[str, Any]:
    """The part of the checkpoint metadata that does not change between epochs."""
    import torch

    config, dataset = setup.config, setup.dataset
    return {
        "model": config.model,
        "model_options": dict(config.model_options),
        "plugin": setup.plugin_origin,
        "classes": list(setup.classes),
        "in_channels": config.channels,
        "input_size": setup.input_size,
        # as JSON holds it (lists, not tuples): the same record whether read from memory or from the checkpoint
        "preprocessing": {key: list(v) if isinstance(v, tuple) else v for key, v in setup.prep.to_dict().items()},
        "balancer": config.balancer,
        "balancer_options": dict(config.balancer_options),
        "balancer_report": setup.balanced.report,
        "augment": config.augment,
        "seed": config.seed,
        "command": commands[0],
        "commands": list(commands),
        "config": setup.config_dict,
        "config_hash": setup.config_hash,
        "data": {
            "spec": data[0],
            "options": data[1],
            "content_key": data[2],
            "name": dataset.name,
            "protocol": dataset.protocol,
            "synthetic": dataset.synthetic,
        },
        "fer_core_version": _fer_version(),
        "torch_version": torch.__version__,
        "device": describe_device(setup.device),
    }


def default_command() -> str:
    return shlex.join(sys.argv)


class Recorder:
    """Writes one run folder; holds the best weights of the run in memory."""

    def __init__(self, out_dir: Path, meta: dict[str, Any], show: EpochProgress) -> None:
        self.out_dir, self.base_meta, self.show = out_dir, meta, show
        self.best_state: dict[str, torch.Tensor] | None = None

    def meta(self, progress: RunProgress) -> dict[str, Any]:
        return {
            **self.base_meta,
            "epochs": progress.epoch,
            "best_epoch": progress.best_epoch,
            "stopped_reason": progress.stopped_reason or "running",
            "train_seconds": round(progress.train_seconds, 3),
            "val_metrics": progress.best_val_metrics,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def validate(self, model: nn.Module, split: Split) -> dict[str, Any]:
        from fer_core.training.evaluate import evaluate

        return evaluate(model, self.base_meta, split)

    def save_best(self, model: nn.Module, progress: RunProgress) -> None:
        from fer_core.checkpoint import save_checkpoint

        self.best_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
        save_checkpoint(self.out_dir / BEST, model, self.meta(progress))

    def save_state(self, setup: TrainingSetup, progress: RunProgress) -> None:
        data = self.base_meta["data"]
        state = {
            "config": setup.config_dict,
            "config_hash": setup.config_hash,
            "data_spec": data["spec"],
            "data_options": data["options"],
            "data_content_key": data["content_key"],
            "commands": self.base_meta["commands"],
            "progress": asdict(progress),
            "model": setup.model.state_dict(),
            "optimizer": setup.optimizer.state_dict(),
            "scheduler": setup.scheduler.state_dict() if setup.scheduler is not None else None,
        }
        save_state(self.out_dir, state)
        atomic.write_json(self.out_dir / HISTORY, progress.history)

    def finish(self, setup: TrainingSetup, progress: RunProgress) -> TrainResult:
        """Put the best weights into the model, write the final record of the run once, and draw the plots."""
        from fer_core.checkpoint import save_checkpoint
        from fer_core.training.plots import write_run_plots

        model, best_path = setup.model, self.out_dir / BEST
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        else:  # resumed after the best epoch: its weights are only on disk
            from safetensors.torch import load_model

            load_model(model, str(best_path), strict=True)
        meta = self.meta(progress)
        save_checkpoint(best_path, model, meta)
        label = f"{setup.config.model} on {setup.dataset.name} ({setup.config.balancer})"
        plots = write_run_plots(self.out_dir / PLOTS, progress.history, progress.best_val_metrics, setup.classes, label)
        best = progress.best_val_metrics
        self.show.message(
            f"best epoch {progress.best_epoch}: val acc {best['accuracy']:.4f}, macro-F1 {best['macro_f1']:.4f}; "
            f"stopped: {progress.stopped_reason}; checkpoint {best_path}"
        )
        return result_of(best_path, meta, progress, setup.balanced.report, plots, model.eval())


def result_of(
    checkpoint: Path, meta: dict[str, Any], progress: RunProgress, balance_report: dict[str, Any], plots: list[Path], model: nn.Module
) -> TrainResult:
    return TrainResult(
        checkpoint=checkpoint,
        meta=meta,
        history=progress.history,
        best_epoch=progress.best_epoch,
        epochs_run=progress.epoch,
        train_seconds=progress.train_seconds,
        val_metrics=progress.best_val_metrics,
        balance_report=balance_report,
        stopped_reason=progress.stopped_reason,
        plots=plots,
        model=model,
    )


def _fer_version() -> str:
    from fer_core import __version__

    return __version__
