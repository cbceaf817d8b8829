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
    from fer_core.bench.executors import CellEvent
    from fer_core.bench.jobs import BenchSpec
    from fer_core.bench.runner import BenchResult


def _command_line() -> str:
    return "fer " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


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
        out.print(leaderboard_table(results, title, width=out.width), soft_wrap=False)  # the caption wraps at the table width
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


_SPEC_FLAGS = {"models": "--models", "balancers": "--balancers", "baseline": "--baseline", "seeds": "--seeds", "data": "--data"}
_SPEC_FLAGS |= {"folds": "--folds", "test_data": "--test-data"}
_SPEC_FLAGS |= {"out": "--out", "name": "--name"}


def _bench(
    models: str | None = typer.Option(
        None, "--models", "-m", metavar="NAMES", help="Model names, wildcards or 'all' (default all), comma-separated."
    ),
    balancers: str | None = typer.Option(
        None, "--balancers", "-b", metavar="NAMES", help="Balancers besides the baseline 'none' (default all)."
    ),
    baseline: bool | None = typer.Option(None, "--baseline/--no-baseline", help="Include the 'none' balancer as baseline (default yes)."),
    seeds: str | None = typer.Option(
        None, "--seeds", metavar="SEEDS", help="Comma-separated seeds, e.g. 0,1,2 (default 0); mean and sd are reported."
    ),
    data: str | None = typer.Option(
        None, "--data", "-d", metavar="SPEC", help="Dataset spec: demo (synthetic, default), a FER-2013 CSV or folder, CK+, ..."
    ),
    folds: str | None = typer.Option(
        None,
        "--folds",
        metavar="K",
        help="K-fold: every cell once per fold, tested on its held-out fold (subject-grouped where subjects are known, "
        "e.g. CK+; stratified); mean, sd and 95% interval over folds and seeds.",
    ),
    test_data: str | None = typer.Option(
        None,
        "--test-data",
        metavar="SPEC",
        help="Score every cell on all images of this dataset instead of --data's test split (classes it lacks "
        "are dropped; e.g. train on FER-2013, test on CK+).",
    ),
    settings: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE", help="Any training setting as KEY=VALUE (repeatable), e.g. --set patience=5."
    ),
    out_dir: Path | None = typer.Option(None, "--out", metavar="DIR", help="Run folder (default runs/<timestamp>-bench/)."),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME", help="Run name; the run goes to runs/NAME/ so rerunning the command resumes it."
    ),
    resume: Path | None = typer.Option(
        None, "--resume", metavar="DIR", help="Resume the run in this folder with the settings saved in its run.json."
    ),
    redo_changed: bool = typer.Option(False, "--redo-changed", help="Retrain finished cells whose settings changed instead of stopping."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no table; only the report path and errors."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    executor: str | None = typer.Option(
        None, "--executor", metavar="NAME", help="local (sequential, in this process; default) or ray (one Ray task per cell)."
    ),
    address: str | None = typer.Option(
        None,
        "--address",
        metavar="ADDRESS",
        help="Ray only: auto, ray://HOST:10001, HOST:6379 or local (default: RAY_ADDRESS, else local).",
    ),
    cpus_per_job: int | None = typer.Option(
        None, "--cpus-per-job", metavar="N", help="Ray only: CPUs per cell (default: the cell's threads)."
    ),
    gpus_per_job: float | None = typer.Option(
        None, "--gpus-per-job", metavar="N", help="Ray only: GPUs per cell, may be fractional; default 0."
    ),
    max_retries: int | None = typer.Option(
        None, "--max-retries", metavar="N", help="Ray only: reruns of a cell whose worker died before it is recorded as failed; default 2."
    ),
    *,
    recipe: dict[str, Any],
) -> None:
    """Cross-benchmark models x balancers x seeds (x folds): train, evaluate and report every cell (resumable)."""
    from fer_core.bench.executors import make_executor
    from fer_core.bench.runner import run_bench
    from fer_core.cli.recipe_flags import settings_from_pairs

    given = {"models": models, "balancers": balancers, "baseline": baseline, "seeds": seeds, "data": data, "out": out_dir, "name": name}
    given["folds"], given["test_data"] = folds, test_data
    spec = _spec({k: v for k, v in given.items() if v is not None}, recipe, settings_from_pairs(settings), resume)
    ray_options = {"address": address, "cpus_per_job": cpus_per_job, "gpus_per_job": gpus_per_job, "max_retries": max_retries}
    runner = make_executor(executor, command=_command_line(), **ray_options)
    try:
        if quiet or as_json:
            outcome = run_bench(spec, runner, command=_command_line(), redo_changed=redo_changed)
        else:
            with _Progress() as progress:
                outcome = run_bench(spec, runner, progress=progress, command=_command_line(), redo_changed=redo_changed)
    except KeyboardInterrupt:
        err.print(f"run folder: {spec.run_dir()}\ncontinue it with: {_resume_command(spec)}", highlight=False)
        raise
    if as_json:
        out.print_json(json.dumps(outcome.to_dict(), default=str))
    else:
        _print_outcome(outcome, quiet)
    _fail_if_incomplete(outcome)


def _spec(given: dict[str, Any], recipe: dict[str, Any], settings: dict[str, Any], resume: Path | None) -> BenchSpec:
    """The grid's spec: the one saved in ``resume``'s run.json, or the flags given (BenchSpec's defaults for the rest)."""
    from fer_core.bench.jobs import BenchSpec, parse_folds, parse_list, parse_seeds
    from fer_core.bench.runner import spec_of_run
    from fer_core.cli.recipe_flags import flag_of
    from fer_core.errors import UsageError

    if resume is not None:
        clashing = [_SPEC_FLAGS[key] for key in given] + [flag_of(key) for key in recipe] + (["--set"] if settings else [])
        if clashing:
            raise UsageError(f"--resume reuses the settings saved in {resume}/run.json; drop {', '.join(clashing)}")
        return spec_of_run(resume)
    parsers = {"models": parse_list, "balancers": parse_list, "seeds": parse_seeds, "out": str, "folds": parse_folds}
    values = {key: parsers.get(key, lambda value: value)(value) for key, value in given.items()}
    return BenchSpec(**values, overrides={**settings, **recipe}).pinned()


def _resume_command(spec: BenchSpec) -> str:
    """The command that continues this grid: ``--resume`` once run.json exists, else the same command into the same folder."""
    from fer_core.bench.store import RUN_FILE

    run_dir = spec.run_dir()
    args = sys.argv[1:]
    executor = [arg for flag in _EXECUTOR_FLAGS for arg in _flag_args(args, flag)]
    if (run_dir / RUN_FILE).is_file():
        return shlex.join(["fer", "bench", "--resume", str(run_dir), *executor])
    if "--out" in args or any(arg.startswith("--out=") for arg in args):
        return _command_line()
    return shlex.join(["fer", *args, "--out", str(run_dir)])


_EXECUTOR_FLAGS = ("--executor", "--address", "--cpus-per-job", "--gpus-per-job", "--max-retries", "--redo-changed")


def _flag_args(args: list[str], flag: str) -> list[str]:
    """``flag`` and its value as they appear in ``args`` (``--flag VALUE`` or ``--flag=VALUE``; a bare switch alone)."""
    for i, arg in enumerate(args):
        if arg == flag:
            takes_value = flag != "--redo-changed" and i + 1 < len(args)
            return args[i : i + 2] if takes_value else [arg]
        if arg.startswith(flag + "="):
            return [arg]
    return []


def register(app: typer.Typer) -> None:
    from fer_core.cli.recipe_flags import recipe_command

    app.command("bench")(recipe_command("bench")(_bench))

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

        out.print(comparison_table(comparison, width=out.width), soft_wrap=False)
