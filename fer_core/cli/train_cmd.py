"""`fer train`: parse the flags, plan the run (``fer_core.runs``), train it, print one line.

The recipe flags (``--model``, ``--epochs``, ``--lr``, ...) are generated from ``TrainConfig``'s fields
by ``fer_core.cli.recipe_flags``; only the flags about data, folders and output are declared here.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from fer_core.cli.console import err, out
from fer_core.cli.recipe_flags import recipe_command


def _train(
    data: str | None = typer.Option(None, "--data", "-d", metavar="SPEC", help="Dataset: a name (demo), a path, NAME:PATH, or a+b."),
    data_opt: list[str] = typer.Option(
        [], "--data-opt", metavar="KEY=VALUE", help="Dataset source option KEY=VALUE (repeatable), e.g. train=300 for demo."
    ),
    out_dir: Path | None = typer.Option(None, "--out", "-o", metavar="DIR", help="Run folder (default: runs/train-<time>-<model>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out after its last complete epoch."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in --out instead of refusing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output (scripts, CI)."),
    *,
    recipe: dict[str, Any],
) -> None:
    """Train a model on a dataset; writes best.safetensors + best.json, history, plots and resumable state."""
    from fer_core.options import parse_pairs
    from fer_core.runs import plan_training, run_training

    plan = plan_training(recipe, data=data, data_options=parse_pairs(data_opt, "--data-opt"), out_dir=out_dir, resume=resume)
    try:
        result = run_training(plan, command="fer " + shlex.join(sys.argv[1:]), quiet=quiet, overwrite=overwrite)
    except KeyboardInterrupt:
        err.print(_after_interrupt(plan), highlight=False)
        raise
    metrics = result.val_metrics
    out.print(
        f"{result.checkpoint}  val acc {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
        f"best epoch {result.best_epoch}/{result.epochs_run}  ({result.stopped_reason}, {result.train_seconds:.0f}s)",
        highlight=False,
    )


def _after_interrupt(plan: Any) -> str:
    """What to run after a Ctrl-C: --resume only when an epoch's resume state was saved."""
    from fer_core.errors import FerError
    from fer_core.training.recording import BEST
    from fer_core.training.resume import find_saved_run

    try:
        saved = find_saved_run(plan.out_dir)
    except FerError:
        saved = None
    if saved is not None:
        return f"continue this run with: {plan.resume_command}"
    again = " with --overwrite" if (plan.out_dir / BEST).is_file() else ""
    return f"no epoch's resume state was saved in {plan.out_dir} yet; run the same command again{again} to start over"


def register(app: typer.Typer) -> None:
    app.command("train")(recipe_command("train", recipe_first=True)(_train))
