"""Terminal tables (the leaderboard, ``fer compare``) that fit the console: 80 columns in CI logs and pipes.

Columns come from ``bench.schema`` (short headers, compact formats). When the table is wider than the
console, the least important columns go first (``Metric.priority``); names are never wrapped or cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fer_core.bench import schema
from fer_core.bench.stats import BASELINE, comparison_for, noise_mark

if TYPE_CHECKING:
    from rich.table import Table

    from fer_core.bench.results import Results

DEFAULT_WIDTH = 80
COMPARE_HEADERS = {"macro_f1": "F1", "images_per_s": "speed"}  # narrower than the schema's short headers; the title says F1 = macro-F1


@dataclass
class Col:
    header: str
    priority: float  # the highest is dropped first; names are 0 and never dropped
    text: bool = False
    values: list[str] = field(default_factory=list)


def _build(title: str | None, columns: Sequence[Col], rows: int, caption: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, caption=caption, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col in columns:
        table.add_column(col.header, justify="left" if col.text else "right", no_wrap=True, overflow="ignore")
    for i in range(rows):
        table.add_row(*[col.values[i] for col in columns])
    return table


def _natural_width(table: Table) -> int:
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=10_000)
    return Measurement.get(console, console.options, table).maximum


def fit(columns: list[Col], rows: int, width: int, title: str | None = None, caption: str | None = None) -> Table:
    """A table of ``columns``, dropping the highest-priority-number ones until it is at most ``width`` wide."""
    kept = list(columns)
    while True:
        table = _build(title, kept, rows, caption)
        droppable = [c for c in kept if c.priority > 0]
        if _natural_width(table) <= width or not droppable:
            return table
        kept.remove(max(droppable, key=lambda c: (c.priority, kept.index(c))))


def leaderboard_table(results: Results, title: str, width: int = DEFAULT_WIDTH) -> Table:
    """Best first, metrics on the ranking split (named in the title); ``~`` marks a difference to ``none`` within noise."""
    from rich.markup import escape

    if results.folded:
        return _group_table(results, title, width)
    split = results.ranking_split
    board = results.leaderboard()
    several_seeds = len({(r["seed"], r.get("fold")) for r in board}) > 1
    columns = [Col("#", 1, values=[str(i) for i in range(1, len(board) + 1)])]
    columns.append(Col("model", 0, True, [escape(r["model"]) for r in board]))
    columns.append(Col("balancer", 0, True, [escape(r["balancer"]) for r in board]))
    if several_seeds:
        columns.append(Col("seed", 2, values=[str(r["seed"]) + (f"/{r['fold']}" if r.get("fold") is not None else "") for r in board]))
    for m in schema.leaderboard_metrics(terminal=True):
        column = m.column(split)
        columns.append(Col(m.short, 10 + m.priority, values=[m.format(r.get(column), short=True) for r in board]))
        if m.name == "macro_f1":
            versus = [comparison_for(results.comparisons, r["model"], r["balancer"], column) for r in board]
            marks = ["" if r["balancer"] == BASELINE else noise_mark(v, digits=3) for r, v in zip(board, versus, strict=True)]
            columns.append(Col("Δ none", 10 + m.priority + 0.5, values=marks))  # kept longer than accuracy
    caption = "Δ none: macro-F1 minus the same model's none; ~ within noise (its 95% interval holds 0), ? one seed"
    caption = caption if results.comparisons else None
    return fit(columns, len(board), width, title=title, caption=caption)


def mean_sd(m: schema.Metric, entry: dict[str, Any], column: str) -> str:
    """``0.812±0.031``: a group's mean and sd in the terminal's format (3 decimals for fractions); the mean alone
    without an sd."""
    mean, sd = entry.get(column), entry.get(f"{column}_sd")
    if m.kind == "fraction" and isinstance(mean, int | float):
        return f"{mean:.3f}" + (f"±{sd:.3f}" if isinstance(sd, int | float) else "")
    spread = isinstance(sd, int | float) and m.summary and not m.speed  # one speed figure per architecture: no sd
    return m.format(mean, short=True) + (f"±{m.format(sd, short=True)}" if spread else "")


def _group_table(results: Results, title: str, width: int) -> Table:
    """The leaderboard of a run with folds: one row per (model, balancer), mean±sd over its n cells (folds x seeds)."""
    from rich.markup import escape

    split = results.ranking_split
    groups = results.groups()
    columns = [Col("#", 1, values=[str(i) for i in range(1, len(groups) + 1)])]
    columns.append(Col("model", 0, True, [escape(g["model"]) for g in groups]))
    columns.append(Col("balancer", 0, True, [escape(g["balancer"]) for g in groups]))
    columns.append(Col("n", 0.5, values=[str(g["n"]) for g in groups]))
    for m in schema.leaderboard_metrics(terminal=True):
        column = m.column(split)
        columns.append(Col(m.short, 10 + m.priority, values=[mean_sd(m, g, column) for g in groups]))
        if m.name == "macro_f1":
            versus = [comparison_for(results.comparisons, g["model"], g["balancer"], column) for g in groups]
            marks = ["" if g["balancer"] == BASELINE else noise_mark(v, digits=3) for g, v in zip(groups, versus, strict=True)]
            columns.append(Col("Δ none", 10 + m.priority + 0.5, values=marks))
    caption = "mean±sd over n cells (folds x seeds); Δ none: paired macro-F1 change vs the model's none, ~ within noise"
    return fit(columns, len(groups), width, title=title, caption=caption)


def _signed(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    colour = "green" if value > 0 else "red" if value < 0 else "white"
    return f"[{colour}]{value:+.4f}[/]"


def comparison_table(comparison: dict[str, Any], width: int = DEFAULT_WIDTH) -> Table:
    """``fer compare`` as a table; --json has every value."""
    from rich.markup import escape

    cells = comparison["cells"]
    title = f"B = {escape(comparison['run_b'])} vs A = {escape(comparison['run_a'])}: {comparison['split']} split, F1 = macro-F1"
    statuses = []
    for row in cells:
        status = row["status_a"] if row["status_a"] == row["status_b"] else f"{row['status_a']}/{row['status_b']}"
        statuses.append(status + (" (config differs)" if row["same_config"] is False else ""))
    columns = [Col("cell", 0, True, [escape(r["cell_id"]) for r in cells]), Col("status", 3, True, statuses)]
    for rank, m in enumerate(schema.compare_metrics()):
        short = COMPARE_HEADERS.get(m.name, m.short)
        if m.speed:
            ratios = [f"{r[f'{m.name}_ratio']:.2f}x" if r.get(f"{m.name}_ratio") else "-" for r in cells]
            verdicts = ["noise" if r.get(f"{m.name}_noise") else "" if r.get(f"{m.name}_noise") is False else "?" for r in cells]
            noisy = [f"{v} {n}".strip() if v != "-" else v for v, n in zip(ratios, verdicts, strict=True)]
            columns.append(Col(f"{short} B/A", 4 + rank, values=noisy))
            continue
        columns.append(Col(f"{short} A", 20 + rank, values=[m.format(r.get(f"{m.name}_a"), short=True) for r in cells]))
        columns.append(Col(f"{short} B", 20 + rank, values=[m.format(r.get(f"{m.name}_b"), short=True) for r in cells]))
        columns.append(Col(f"Δ {short}", 1 if m.name == "macro_f1" else 2, values=[_signed(r.get(f"{m.name}_delta")) for r in cells]))
    caption = "speed B/A: 'noise' when the two runs' timing spreads overlap, '?' when a spread is unknown"
    return fit(columns, len(cells), width, title=title, caption=caption)
