"""The `fer` command line: a thin layer over library functions."""

from __future__ import annotations

import sys
from importlib import import_module

import click
import typer
from rich.markup import escape

from fer_core import __version__
from fer_core.cli.console import err
from fer_core.errors import FerError

INTERRUPTED = 130
# typer >= 0.20 raises exceptions of its vendored copy of click; older typer raises click's own.
_vendored = getattr(getattr(typer, "_click", None), "exceptions", None)
CLICK_ERRORS: tuple[type[Exception], ...] = (click.exceptions.ClickException,) + ((_vendored.ClickException,) if _vendored else ())
ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort, KeyboardInterrupt)

app = typer.Typer(
    name="fer",
    help="fer: a facial-expression-recognition model zoo. Train, benchmark and use emotion classifiers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's plain help: two columns that wrap to the terminal, readable at 80 columns and in CI logs (typer's
    # rich panels give each negative --no-FLAG its own column and squeeze the help text to ~17 characters).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

# Each module defines `register(app)`; its heavy imports happen inside the command bodies.
COMMAND_MODULES = [
    "fer_core.cli.list_cmd",
    "fer_core.cli.plugin_cmd",
    "fer_core.cli.data_cmd",
    "fer_core.cli.predict_cmd",
    "fer_core.cli.train_cmd",
    "fer_core.cli.eval_cmd",
    "fer_core.cli.bench_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fer-core {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    pass


for _module in COMMAND_MODULES:
    import_module(_module).register(app)


def main() -> None:
    """Run the CLI: user errors print one line, Ctrl-C says finished results are kept."""
    try:
        code = app(standalone_mode=False)
    except FerError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except CLICK_ERRORS as exc:
        _show_usage_error(exc)
        sys.exit(exc.exit_code)
    except ABORTS:
        code = INTERRUPTED
    if code == INTERRUPTED:
        err.print("[yellow]interrupted[/]; finished results are kept")
    sys.exit(code if isinstance(code, int) else 0)


def _show_usage_error(exc: Exception) -> None:
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except (ImportError, AttributeError):
        exc.show()


if __name__ == "__main__":
    main()
