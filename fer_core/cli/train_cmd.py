"""`fer train`: a thin layer over ``fer_core.training.trainer.train``."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from fer_core.cli.console import err, out

RUNS_DIR = Path("runs")


def parse_options(pairs: list[str], flag: str) -> dict[str, Any]:
    """``["k=5", "features=pca:64", 'sampling_strategy={"disgust": 900}']`` -> a dict; values are JSON where they parse, else text."""
    from fer_core.errors import UsageError

    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got '{pair}'")
        try:
            options[key.strip()] = json.loads(raw)
        except ValueError:
            options[key.strip()] = raw
    return options


def default_out_dir(model: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return RUNS_DIR / f"train-{stamp}-{model.replace('/', '_')}"


def _saved_run(out_dir: Path) -> dict[str, Any]:
    from fer_core.errors import UsageError
    from fer_core.training.state import STATE_JSON

    path = out_dir / STATE_JSON
    if not path.is_file():
        raise UsageError(f"--resume: {out_dir} holds no training state to resume (no {STATE_JSON})")
    return json.loads(path.read_text(encoding="utf-8"))


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        model: str | None = typer.Option(None, "--model", "-m", help="Model plugin name (see `fer list models`)."),
        data: str | None = typer.Option(None, "--data", "-d", help="Dataset: a name (demo), a path, NAME:PATH, or a+b."),
        balancer: str | None = typer.Option(None, "--balancer", "-b", help="Balancer plugin: none (default), weighted, smote, oversample."),
        epochs: int | None = typer.Option(None, "--epochs", help="Maximum epochs (default: 10)."),
        batch_size: int | None = typer.Option(None, "--batch-size", help="Batch size (default: 32)."),
        lr: float | None = typer.Option(None, "--lr", help="Learning rate (default: 1e-3)."),
        weight_decay: float | None = typer.Option(None, "--weight-decay", help="Weight decay (default: 1e-4)."),
        optimizer: str | None = typer.Option(None, "--optimizer", help="adamw (default) or sgd (momentum 0.9, Nesterov)."),
        schedule: str | None = typer.Option(None, "--schedule", help="cosine (default), plateau or none."),
        label_smoothing: float | None = typer.Option(None, "--label-smoothing", help="Label smoothing (default: 0)."),
        patience: int | None = typer.Option(None, "--patience", help="Early stopping on val macro-F1; 0 disables (default: 3)."),
        augment: str | None = typer.Option(
            None, "--augment", help="none, light, standard (default), strong (albumentations), torch:PRESET (on the GPU), or a plugin."
        ),
        seed: int | None = typer.Option(None, "--seed", help="Seed for data order, augmentation and init (default: 0)."),
        time_budget: float | None = typer.Option(None, "--time-budget", help="Seconds; no epoch starts that would end past it."),
        input_size: int | None = typer.Option(None, "--input-size", help="Input side in pixels (default: the model's)."),
        channels: int | None = typer.Option(None, "--channels", help="1 (grayscale, default) or 3."),
        precision: str | None = typer.Option(None, "--precision", help="fp32 (default) or bf16 (autocast in training; GPU or BF16 CPU)."),
        device: str | None = typer.Option(None, "--device", help="auto (default: a CUDA GPU if torch sees one), cpu, cuda or cuda:N."),
        threads: int | None = typer.Option(None, "--threads", help="Torch threads (default: all cores)."),
        data_opt: list[str] = typer.Option([], "--data-opt", help="Dataset source option KEY=VALUE (repeatable), e.g. train=300 for demo."),
        model_opt: list[str] = typer.Option([], "--model-opt", help="Model option KEY=VALUE (repeatable)."),
        balancer_opt: list[str] = typer.Option([], "--balancer-opt", help="Balancer option KEY=VALUE (repeatable; JSON values)."),
        out_dir: Path | None = typer.Option(None, "--out", "-o", help="Run folder (default: runs/train-<time>-<model>)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --out after its last complete epoch."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output (scripts, CI)."),
    ) -> None:
        """Train a model on a dataset; writes best.safetensors + best.json, history, plots and resumable state."""
        from fer_core.data.loading import load_dataset
        from fer_core.errors import UsageError
        from fer_core.training.config import TrainConfig
        from fer_core.training.trainer import train

        given: dict[str, Any] = {
            "model": model,
            "balancer": balancer,
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "optimizer": optimizer,
            "schedule": schedule,
            "label_smoothing": label_smoothing,
            "patience": patience,
            "augment": augment,
            "seed": seed,
            "time_budget_s": time_budget,
            "input_size": input_size,
            "channels": channels,
            "threads": threads,
            "precision": precision,
            "device": device,
        }
        given = {k: v for k, v in given.items() if v is not None}
        data_options = parse_options(data_opt, "--data-opt")
        if model_opt:
            given["model_options"] = parse_options(model_opt, "--model-opt")
        if balancer_opt:
            given["balancer_options"] = parse_options(balancer_opt, "--balancer-opt")
        if resume:
            if out_dir is None:
                raise UsageError("--resume needs --out, the folder of the run to continue")
            saved = _saved_run(out_dir)
            config = TrainConfig.from_dict({**saved["config"], **given})
            if data is None:
                data, data_options = saved.get("data_spec"), {**saved.get("data_options", {}), **data_options}
            if not data:
                raise UsageError("--resume: the saved run does not record its data; pass --data")
        else:
            if "model" not in given:
                raise UsageError("missing --model (see `fer list models`)")
            if not data:
                raise UsageError("missing --data (a dataset name such as demo, or a path)")
            config = TrainConfig(**given)
        dataset = load_dataset(data, options=data_options)
        out_dir = out_dir or default_out_dir(config.model)
        try:
            result = train(
                config,
                dataset,
                out_dir,
                resume=resume,
                command="fer " + shlex.join(sys.argv[1:]),
                quiet=quiet,
                data_spec=data,
                data_options=data_options,
            )
        except KeyboardInterrupt:
            err.print(f"continue this run with: fer train --resume --out {shlex.quote(str(out_dir))}", highlight=False)
            raise
        metrics = result.val_metrics
        out.print(
            f"{result.checkpoint}  val acc {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"best epoch {result.best_epoch}/{result.epochs_run}  ({result.stopped_reason}, {result.train_seconds:.0f}s)",
            highlight=False,
        )
