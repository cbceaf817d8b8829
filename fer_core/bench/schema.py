"""The one results schema: every metric column of fer's tables, how it is shown, and how it is compared.

results.csv/json (``bench.results``), report.md (``bench.report``), the terminal leaderboard
(``bench.table``), ``fer compare`` (``bench.compare``) and ``fer eval --json`` read this module. Adding
a leaderboard metric is one ``Metric(...)`` line in ``METRICS`` below: its value is read from each
cell's ``result.json`` at ``source``, and every table, comparison and summary picks it up.

A ``Metric`` with ``per_split=True`` is measured once per evaluated split (``val_<name>``, ``test_<name>``,
read from ``result.metrics[split][name]``); otherwise it is one value per cell read from ``source``,
a dotted path into the cell result (``speed.images_per_s``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["fraction", "rate", "count", "ms", "seconds", "mflops", "megabytes", "int", "text"]
SPLITS = ("val", "test")
MISSING = "-"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _compact(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return str(int(value))


# kind -> (full format for report.md, compact format for the terminal)
FORMATS: dict[str, tuple[Callable[[float], str], Callable[[float], str]]] = {
    "fraction": (lambda v: f"{v:.4f}", lambda v: f"{v:.4f}"),
    "rate": (lambda v: f"{v:,.0f}", lambda v: f"{v:,.0f}"),
    "count": (lambda v: f"{int(v):,}", _compact),
    "ms": (lambda v: f"{v:.2f}", lambda v: f"{v:.1f}"),
    "seconds": (lambda v: f"{v:,.1f}", lambda v: f"{v:,.0f}"),
    "mflops": (lambda v: f"{v:,.1f}", lambda v: f"{v:,.1f}"),
    "megabytes": (lambda v: f"{v:,.2f}", lambda v: f"{v:,.1f}"),
    "int": (lambda v: f"{int(v)}", lambda v: f"{int(v)}"),
}


@dataclass(frozen=True)
class Metric:
    """One metric column.

    ``header``: report.md header (the split is prefixed for per-split metrics); ``short``: terminal header;
    ``speed``: measured by the speed phase (compared as a ratio, with its spread as the noise);
    ``higher_is_better``: None for descriptive columns that have no better direction;
    ``leaderboard``/``terminal``: shown in report.md's leaderboard / the terminal table;
    ``summary``: mean, sd and 95% interval over seeds and folds; ``compare``: a row of ``fer compare``;
    ``priority``: the terminal drops columns of the highest priority number first when narrow.
    """

    name: str
    header: str
    short: str
    kind: Kind
    per_split: bool = False
    source: str = ""
    speed: bool = False
    higher_is_better: bool | None = True
    leaderboard: bool = True
    terminal: bool = True
    summary: bool = False
    compare: bool = False
    priority: int = 5

    def column(self, split: str | None = None) -> str:
        """The results.csv column: ``<split>_<name>`` for a per-split metric, else ``name``."""
        return f"{split}_{self.name}" if self.per_split else self.name

    def heading(self, split: str | None = None, *, short: bool = False) -> str:
        text = self.short if short else self.header
        return f"{split} {text}" if self.per_split and split and not short else text

    def read(self, result: Mapping[str, Any], split: str | None = None) -> Any:
        """The value of this metric in a cell result's dict (``CellResult.to_dict()``), None when absent."""
        if self.per_split:
            return (result.get("metrics", {}).get(split or "", {}) or {}).get(self.name)
        value: Any = result
        for part in (self.source or self.name).split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def format(self, value: Any, *, short: bool = False) -> str:
        if self.kind == "text":
            return str(value) if value not in (None, "") else MISSING
        if not _finite(value):
            return MISSING
        full, compact = FORMATS[self.kind]
        return (compact if short else full)(float(value))


METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "acc", "acc", "fraction", per_split=True, summary=True, compare=True, priority=1),
    Metric("macro_f1", "macro-F1", "macro-F1", "fraction", per_split=True, summary=True, compare=True, priority=0),
    Metric("weighted_f1", "weighted-F1", "w-F1", "fraction", per_split=True, summary=True, priority=3),
    Metric("balanced_accuracy", "balanced acc", "bal-acc", "fraction", per_split=True, leaderboard=False, terminal=False),
    Metric("params", "params", "params", "count", higher_is_better=None, priority=4),
    Metric("mflops", "MFLOPs", "MFLOPs", "mflops", higher_is_better=None, terminal=False),
    Metric("checkpoint_mb", "checkpoint MB", "MB", "megabytes", higher_is_better=None, leaderboard=False, terminal=False),
    Metric("input_size", "input", "input", "int", higher_is_better=None, leaderboard=False, terminal=False),
    Metric("images_per_s", "img/s (b64)", "img/s", "rate", source="speed.images_per_s", speed=True, summary=True, compare=True, priority=2),
    Metric(
        "latency_p50_ms", "p50 ms (b1)", "p50 ms", "ms", source="speed.latency_p50_ms", speed=True, higher_is_better=False, terminal=False
    ),
    Metric("epochs_run", "epochs", "epochs", "int", higher_is_better=None, priority=6),
    Metric("best_epoch", "best epoch", "best", "int", higher_is_better=None, terminal=False),
    Metric("train_seconds", "train (s)", "train s", "seconds", higher_is_better=False, summary=True, priority=7),
    Metric("stopped_reason", "stopped", "stopped", "text", higher_is_better=None, terminal=False),
)


def metric(name: str) -> Metric:
    """The metric called ``name`` (``macro_f1``) or whose column is ``name`` (``test_macro_f1``)."""
    for entry in METRICS:
        if name == entry.name or (entry.per_split and name in {entry.column(s) for s in SPLITS}):
            return entry
    raise KeyError(name)


def split_metrics() -> list[Metric]:
    return [m for m in METRICS if m.per_split]


def cell_metrics() -> list[Metric]:
    return [m for m in METRICS if not m.per_split]


def split_columns() -> list[str]:
    """``val_accuracy``, ..., ``test_balanced_accuracy``: every per-split column, val first."""
    return [m.column(split) for split in SPLITS for m in split_metrics()]


def leaderboard_metrics(*, terminal: bool = False) -> list[Metric]:
    return [m for m in METRICS if (m.terminal if terminal else m.leaderboard)]


def summary_columns(split: str | None = None) -> list[str]:
    """Columns averaged over seeds and folds: per-split ones for each split (or only ``split``), then the rest."""
    splits = SPLITS if split is None else (split,)
    return [m.column(s) for s in splits for m in METRICS if m.summary and m.per_split] + [
        m.column() for m in METRICS if m.summary and not m.per_split
    ]


def compare_metrics() -> list[Metric]:
    return [m for m in METRICS if m.compare]


def ranking_column(split: str) -> str:
    return metric("macro_f1").column(split)


def format_value(column: str, value: Any, *, short: bool = False) -> str:
    """``value`` formatted as the schema says for ``column`` (a metric name or results.csv column)."""
    try:
        return metric(column).format(value, short=short)
    except KeyError:
        return MISSING if value is None else str(value)


def eval_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's per-split metrics of one evaluation (``fer eval --json``), in schema order, None when absent."""
    return {m.name: metrics.get(m.name) for m in split_metrics()}
