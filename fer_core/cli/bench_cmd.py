"""`fer bench`, `fer report` and `fer compare`: thin wrappers over fer_core.bench."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fer_core.cli.console import err, out

if TYPE_CHECKING:
    from fer_core.bench.executors import CellEvent, Executor
    from fer_core.bench.runner import BenchResult


def _command_line() -> str:
    return "fer " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


def _parse_settings(pairs: list[str]) -> dict[str, Any]:
    from fer_core.errors import UsageError

    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE (a TrainConfig field), not '{pair}'")
        try:
            settings[key.strip()] = json.loads(raw)
        except ValueError:
            settings[key.strip()] = raw
    return settings


def _fmt(value: Any, spec: str = ".3f") -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def _print_outcome(outcome: BenchResult, quiet: bool) -> None:
    from rich.markup import escape

    results = outcome.results
    if not quiet:
        synthetic = " on SYNTHETIC data" if results.dataset.get("synthetic") else ""
        protocol = results.dataset.get("protocol", "?")
        from fer_core.bench.table import leaderboard_table

        title = f"leaderboard{synthetic} ({protocol}): {results.ranking_split} split, by macro-F1"
        out.print(leaderboard_table(results, title, width=out.width))
        for row in outcome.incomplete:
            err.print(f"[red]{row['status']}[/] {escape(row['cell_id'])}: {escape(row['error'] or '')}", highlight=False)
    err.print(f"report: {outcome.report}", highlight=False)


def _fail_if_incomplete(outcome: BenchResult) -> None:
    from fer_core.errors import FerError

    bad = outcome.incomplete
    if bad:
        names = ", ".join(r["cell_id"] for r in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise FerError(
            f"grid incomplete: {len(bad)} of {len(outcome.results.rows)} cells failed or unfinished ({names}); see {outcome.report}"
        )


def _executor(name: str, ray_options: dict[str, Any], command: str) -> Executor | None:
    """None means run_bench's default, the local sequential executor."""
    from fer_core.errors import UsageError

    given = {k: v for k, v in ray_options.items() if v is not None}
    if name == "local":
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise UsageError(f"{flags}: only with --executor ray")
        return None
    if name == "ray":
        from fer_core.bench.ray_executor import RayExecutor

        return RayExecutor(command=command, **given)
    raise UsageError(f"--executor must be local or ray, not '{name}'")


class _Progress:
    """A rich progress bar over cells (queued, running, done, failed) plus one line per finished cell, on stderr."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err)
        self.task = self.bar.add_task("cells", total=0)
        self.queued: set[str] = set()
        self.running: set[str] = set()
        self.starts: dict[str, int] = {}
        self.done = self.failed = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar.live.is_started:
            self.bar.stop()

    def counts(self) -> str:
        return f"{len(self.queued)} queued, {len(self.running)} running, {self.done} done, {self.failed} failed"

    def __call__(self, event: CellEvent) -> None:
        from rich.markup import escape

        if not self.bar.live.is_started:  # only once the grid is planned, so a usage error prints alone
            self.bar.start()
        cell_id = event.job.cell_id
        cell = escape(cell_id)
        if event.kind in ("queued", "skipped"):
            self.bar.update(self.task, total=(self.bar.tasks[0].total or 0) + 1)
        if event.kind == "queued":
            self.queued.add(cell_id)
        elif event.kind == "skipped":
            self.done += 1
            self.bar.advance(self.task)
            self.bar.console.print(f"[dim]skip[/] {cell} (finished earlier)", highlight=False)
        elif event.kind == "started":
            self.queued.discard(cell_id)
            self.running.add(cell_id)
            self.starts[cell_id] = self.starts.get(cell_id, 0) + 1
            if self.starts[cell_id] > 1:
                self.bar.console.print(f"[yellow]retry[/] {cell} (attempt {self.starts[cell_id]})", highlight=False)
        elif event.kind == "finished" and event.result is not None:
            self.queued.discard(cell_id)
            self.running.discard(cell_id)
            self.bar.advance(self.task)
            result = event.result
            if result.ok:
                self.done += 1
                f1 = result.metrics.get("val", {}).get("macro_f1")
                self.bar.console.print(f"[green]done[/] {cell}: val macro-F1 {_fmt(f1)} in {result.wall_seconds:.0f} s", highlight=False)
            else:
                self.failed += 1
                self.bar.console.print(f"[red]failed[/] {cell} while {result.failed_step}: {escape(result.error)}", highlight=False)
        self.bar.update(self.task, description=self.counts())


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench_command(
        models: str | None = typer.Option(None, "--models", "-m", help="Model names, wildcards or 'all' (default all), comma-separated."),
        balancers: str | None = typer.Option(None, "--balancers", "-b", help="Balancers besides the baseline 'none' (default all)."),
        baseline: bool | None = typer.Option(
            None, "--baseline/--no-baseline", help="Include the 'none' balancer as baseline (default yes)."
        ),
        seeds: str | None = typer.Option(None, "--seeds", help="Comma-separated seeds, e.g. 0,1,2 (default 0); mean and sd are reported."),
        data: str | None = typer.Option(
            None, "--data", "-d", help="Dataset spec: demo (synthetic, default), a FER-2013 CSV or folder, CK+, ..."
        ),
        epochs: int | None = typer.Option(None, "--epochs", min=1, help="Epochs per cell (trainer default otherwise)."),
        time_budget: float | None = typer.Option(None, "--time-budget", min=1, help="Training seconds per cell; a cell stops when spent."),
        augment: str | None = typer.Option(None, "--augment", help="Augmentation preset (trainer default otherwise)."),
        batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Batch size."),
        lr: float | None = typer.Option(None, "--lr", min=0.0, help="Learning rate."),
        settings: list[str] = typer.Option(
            [], "--set", help="Any other TrainConfig field as KEY=VALUE (repeatable), e.g. --set patience=5."
        ),
        out_dir: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<timestamp>-bench/)."),
        name: str | None = typer.Option(None, "--name", help="Run name; the run goes to runs/NAME/ so rerunning the command resumes it."),
        resume: Path | None = typer.Option(None, "--resume", help="Resume the run in this folder with the settings saved in its run.json."),
        redo_changed: bool = typer.Option(
            False, "--redo-changed", help="Retrain finished cells whose settings changed instead of stopping."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no table; only the report path and errors."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
        executor: str = typer.Option("local", "--executor", help="local (sequential, in this process) or ray (one Ray task per cell)."),
        address: str | None = typer.Option(
            None, "--address", help="Ray only: auto, ray://HOST:10001, HOST:6379 or local (default: RAY_ADDRESS, else local)."
        ),
        cpus_per_job: int | None = typer.Option(None, "--cpus-per-job", help="Ray only: CPUs (and training threads) per cell, default 1."),
        gpus_per_job: float | None = typer.Option(None, "--gpus-per-job", help="Ray only: GPUs per cell, may be fractional; default 0."),
        max_retries: int | None = typer.Option(
            None, "--max-retries", help="Ray only: reruns of a cell whose worker died before it is recorded as failed; default 2."
        ),
    ) -> None:
        """Cross-benchmark models x balancers x seeds: train, evaluate and report every cell (resumable)."""
        from fer_core.bench.jobs import BenchSpec, parse_list, parse_seeds
        from fer_core.bench.runner import run_bench, spec_of_run
        from fer_core.errors import UsageError

        overrides = _parse_settings(settings)
        if batch_size is not None:
            overrides["batch_size"] = batch_size
        if lr is not None:
            overrides["lr"] = lr
        given = {"--models": models, "--balancers": balancers, "--baseline": baseline, "--seeds": seeds, "--data": data}
        given |= {"--epochs": epochs, "--time-budget": time_budget, "--augment": augment, "--out": out_dir, "--name": name}
        if resume is not None:
            clashing = [flag for flag, value in given.items() if value is not None] + (["--batch-size/--lr/--set"] if overrides else [])
            if clashing:
                raise UsageError(f"--resume reuses the settings saved in {resume}/run.json; drop {', '.join(clashing)}")
            spec = spec_of_run(resume)
        else:
            spec = BenchSpec(
                models=parse_list(models or "all"),
                balancers=parse_list(balancers or "all"),
                baseline=baseline is not False,
                seeds=parse_seeds(seeds or "0"),
                data=data or "demo",
                epochs=epochs,
                time_budget_s=time_budget,
                augment=augment,
                overrides=overrides,
                name=name or "bench",
                out=str(out_dir) if out_dir is not None else None,
            )
        ray_options = {"address": address, "cpus_per_job": cpus_per_job, "gpus_per_job": gpus_per_job, "max_retries": max_retries}
        runner = _executor(executor, ray_options, _command_line())
        if quiet or as_json:
            outcome = run_bench(spec, runner, command=_command_line(), redo_changed=redo_changed)
        else:
            with _Progress() as progress:
                outcome = run_bench(spec, runner, progress=progress, command=_command_line(), redo_changed=redo_changed)
        if as_json:
            out.print_json(json.dumps(outcome.to_dict(), default=str))
        else:
            _print_outcome(outcome, quiet)
        _fail_if_incomplete(outcome)

    @app.command("report")
    def report_command(
        run_dir: Path = typer.Argument(..., help="A run folder written by fer bench."),
        as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    ) -> None:
        """Rebuild results.csv/json, plots and report.md of a bench run from its saved cell results (no training)."""
        from fer_core.bench.runner import rebuild_report

        outcome = rebuild_report(run_dir)
        if as_json:
            out.print_json(json.dumps(outcome.to_dict(), default=str))
        else:
            _print_outcome(outcome, quiet=False)

    @app.command("compare")
    def compare_command(
        run_a: Path = typer.Argument(..., help="The reference run folder."),
        run_b: Path = typer.Argument(..., help="The run folder to compare with it."),
        as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON on stdout."),
    ) -> None:
        """Per-cell differences between two bench runs: accuracy, macro-F1 and inference speed (B - A)."""
        from fer_core.bench.compare import compare_runs

        comparison = compare_runs(run_a, run_b)
        if as_json:
            out.print_json(json.dumps(comparison))
            return
        from fer_core.bench.table import comparison_table

        out.print(comparison_table(comparison, width=out.width))
