"""Run folders and starting a training run: the policy the command line used to own.

Where a run goes when no folder is given (``runs/train-<time>-<model>`` for ``fer train``; a bench run's
folder is ``BenchSpec.run_dir``), what a resumed run is continued with (the recipe and data saved in
its folder, read by ``fer_core.training.resume.saved_run``, with the settings given now on top), and the
command that resumes an interrupted run. Whether a folder may be written, resumed or replaced is
``train()``'s to decide (``fer_core.training.resume.prepare_run_folder``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.errors import UsageError

if TYPE_CHECKING:
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import TrainResult

RUNS_DIR = Path("runs")


def train_run_dir(model: str, now: datetime | None = None) -> Path:
    """``runs/train-<YYYYmmdd-HHMMSS>-<model>``, with ``/`` in a model name (``timm/...``) made folder-safe."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return RUNS_DIR / f"train-{stamp}-{model.replace('/', '_')}"


@dataclass(frozen=True)
class TrainPlan:
    """Everything one ``fer train`` needs, decided before any data is loaded."""

    config: TrainConfig
    data: str
    out_dir: Path
    data_options: dict[str, Any] = field(default_factory=dict)
    resume: bool = False

    @property
    def resume_command(self) -> str:
        return f"fer train --resume --out {shlex.quote(str(self.out_dir))}"


def plan_training(
    settings: Mapping[str, Any],
    *,
    data: str | None = None,
    data_options: Mapping[str, Any] | None = None,
    out_dir: Path | str | None = None,
    resume: bool = False,
) -> TrainPlan:
    """The recipe, data and folder of a run: new from ``settings``, or the saved run in ``out_dir`` with ``settings`` on top."""
    from fer_core.training.config import TrainConfig
    from fer_core.training.resume import saved_run

    options = dict(data_options or {})
    if resume:
        if out_dir is None:
            raise UsageError("--resume needs --out, the folder of the run to continue")
        saved = saved_run(out_dir)
        config = TrainConfig.from_dict({**saved.config, **settings})
        if data is None:
            data, options = saved.data_spec, {**saved.data_options, **options}
        if not data:
            raise UsageError("--resume: the saved run does not record its data; pass --data")
    else:
        if "model" not in settings:
            raise UsageError("missing --model (see `fer list models`)")
        if not data:
            raise UsageError("missing --data (a dataset name such as demo, or a path)")
        config = TrainConfig(**settings)
    from fer_core.training.setup import check_plugins

    check_plugins(config)  # a bad plugin name or option stops here, before the data is loaded
    folder = Path(out_dir) if out_dir is not None else train_run_dir(config.model)
    return TrainPlan(config=config, data=str(data), out_dir=folder, data_options=options, resume=resume)


def run_training(plan: TrainPlan, *, command: str | None = None, quiet: bool = False, overwrite: bool = False) -> TrainResult:
    """Load the plan's data (the recipe's fold of it, if any) and train it into its folder (``overwrite``: replace a
    finished run there)."""
    from fer_core.data.loading import load_dataset
    from fer_core.data.splits import fold_dataset
    from fer_core.training.trainer import train

    dataset = fold_dataset(load_dataset(plan.data, options=plan.data_options), plan.config.fold)
    return train(
        plan.config,
        dataset,
        plan.out_dir,
        resume=plan.resume,
        command=command,
        quiet=quiet,
        data_spec=plan.data,
        data_options=plan.data_options,
        overwrite=overwrite,
    )
