from __future__ import annotations

from pathlib import Path

import typer

from fer_core.cli.console import out


def register(app: typer.Typer) -> None:
    @app.command("new-plugin")
    def new_plugin_command(
        name: str = typer.Argument(..., help="Plugin name, e.g. my_cnn (becomes distribution fer-my-cnn)."),
        kind: str = typer.Option("model", "--kind", help="model or balancer."),
        dest: Path = typer.Option(Path("."), "--dest", help="Folder to create the plugin in."),
    ) -> None:
        """Write an installable plugin skeleton that passes the conformance suite."""
        from fer_core.scaffold import new_plugin

        root = new_plugin(name, kind, dest)
        out.print(f"created {root}\n  pip install -e {root}\n  pytest {root / 'tests'}")
