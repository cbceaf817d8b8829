from __future__ import annotations

import json

import typer

from fer_core.cli.console import out


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_plugins(
        kind: str = typer.Argument("all", help="models, balancers, augmenters, datasets, detectors or all."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
        params: bool = typer.Option(True, "--params/--no-params", help="Count model parameters (builds each model on the meta device)."),
    ) -> None:
        """List installed plugins with their distribution, version and health."""
        from fer_core.errors import UsageError
        from fer_core.listing import describe_plugins
        from fer_core.registry import GROUPS

        if kind != "all" and kind not in GROUPS:
            raise UsageError(f"unknown kind '{kind}'; choose from all, {', '.join(GROUPS)}")
        rows = describe_plugins(None if kind == "all" else [kind], params=params)
        if as_json:
            out.print_json(json.dumps(rows))
            return
        from rich.markup import escape
        from rich.table import Table

        wide = out.width >= 120
        for group in GROUPS:
            group_rows = [row for row in rows if row["kind"] == group]
            if not group_rows:
                continue
            caption = "acc/F1 %: accuracy / macro-F1 on FER-2013 PublicTest" if group == "weights" else None
            table = Table(title=f"fer {group}", title_justify="left", header_style="bold", caption=caption, caption_justify="left")
            table.add_column("name", no_wrap=True)
            table.add_column("distribution", no_wrap=True)
            table.add_column("version", no_wrap=True)
            if group == "models":
                table.add_column("params", justify="right", no_wrap=True)
            if group == "weights":
                from fer_core.predict.weights import WEIGHTS_COLUMNS, weights_cells

                for column in WEIGHTS_COLUMNS:
                    table.add_column(column, overflow="fold")
            table.add_column("status", overflow="fold")
            if wide:
                table.add_column("description", overflow="fold")
            for row in group_rows:
                status = "[green]ok[/]" if row["status"] == "ok" else f"[red]{row['status']}[/]: {escape(row['error'])}"
                cells = [row["name"], row["distribution"], row["version"]]
                if group == "models":
                    cells.append(f"{row['params']:,}" if row["params"] else "")
                if group == "weights":
                    cells.extend(escape(cell) for cell in weights_cells(row))
                cells.append(status)
                table.add_row(*cells, *([escape(row["description"])] if wide else []))
            out.print(table)
            if group == "weights" and not wide:  # classes, input and licence matter too much to hide on a narrow terminal
                notes = Table.grid(padding=(0, 1))
                notes.add_column(no_wrap=True, style="bold")
                notes.add_column()
                for row in group_rows:
                    notes.add_row(escape(row["name"]), escape(row["description"]))
                out.print(notes)
