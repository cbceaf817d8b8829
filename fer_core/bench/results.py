"""Flat result tables: one row per cell (results.csv / results.json), group summaries and paired comparisons.

The metric columns, their order and which are summarised come from ``bench.schema``; the identity
columns (which cell, which plugin, how it ended) are fixed here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_core import atomic
from fer_core.bench import schema
from fer_core.bench.cell import CellResult
from fer_core.bench.jobs import Job
from fer_core.bench.store import CORRUPT

UNFINISHED = "unfinished"
SPLITS = schema.SPLITS
IDENTITY_COLUMNS = [
    "cell_id",
    "model",
    "distribution",
    "plugin_version",
    "balancer",
    "seed",
    "fold",
    "test_data",
    "protocol",
    "synthetic",
    "status",
    "error",
    "train_device",
    "threads",
]
SPEED_SPREAD_COLUMNS = ["images_per_s_lo", "images_per_s_hi", "latency_p50_ms_lo", "latency_p50_ms_hi", "speed_source"]


def base_columns() -> list[str]:
    """Every results.csv column before the per-class F1 ones, in order (read from the schema each time)."""
    return [*IDENTITY_COLUMNS, *[m.column() for m in schema.cell_metrics()], *SPEED_SPREAD_COLUMNS, *schema.split_columns()]


@dataclass
class Results:
    """The tables of a run, plus what is needed to read them."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    classes: list[str]
    ranking_split: str
    dataset: dict[str, Any] = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    speed: dict[str, Any] = field(default_factory=dict)

    @property
    def score_column(self) -> str:
        return schema.ranking_column(self.ranking_split)

    def leaderboard(self) -> list[dict[str, Any]]:
        """Finished rows, best macro-F1 on the ranking split first."""
        ok = [r for r in self.rows if r["status"] == "ok"]
        return sorted(ok, key=lambda r: (-_num(r.get(self.score_column)), r["cell_id"]))

    @property
    def folded(self) -> bool:
        """True when the cells are folds (``fer bench --folds``): each cell is tested on other images, so the tables
        rank the (model, balancer) groups, averaged over folds and seeds, rather than single cells."""
        return any(r.get("fold") is not None for r in self.rows)

    def groups(self) -> list[dict[str, Any]]:
        """One row per (model, balancer) with finished cells, best mean macro-F1 on the ranking split first: every
        numeric column is the mean over the group's finished cells (``n``: folds x seeds); the summary columns
        of ``bench.schema`` also carry ``<column>_sd`` and ``_ci95_lo``/``_hi`` (``summarise``)."""
        members: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in self.rows:
            if row["status"] == "ok":
                members.setdefault((row["model"], row["balancer"]), []).append(row)
        spreads = {(e["model"], e["balancer"]): e for e in self.summary}
        grouped = []
        for (model, balancer), rows in members.items():
            entry: dict[str, Any] = {"model": model, "balancer": balancer, "n": len(rows)}
            entry["seeds"], entry["folds"] = len({r["seed"] for r in rows}), len({r.get("fold") for r in rows} - {None})
            for column in rows[0]:
                values = [float(r[column]) for r in rows if _finite(r.get(column))]
                if column not in entry and values and column not in ("seed", "fold"):
                    entry[column] = sum(values) / len(values)
            summary = spreads.get((model, balancer), {})
            entry.update({key: value for key, value in summary.items() if key.endswith(("_sd", "_ci95_lo", "_ci95_hi"))})
            grouped.append(entry)
        return sorted(grouped, key=lambda e: (-_num(e.get(self.score_column)), e["model"], e["balancer"]))

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "ok"]

    def corrupt(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == CORRUPT]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "ranking_split": self.ranking_split,
            "classes": self.classes,
            "rows": self.rows,
            "summary": self.summary,
            "comparisons": self.comparisons,
            "speed": self.speed,
        }


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)) else -math.inf


def _speed_of(result: CellResult, phase: Mapping[str, Any] | None) -> dict[str, Any]:
    """The speed-phase figure of the cell's architecture when there is one, else what the cell measured itself."""
    if phase:
        return {**phase, "source": "speed phase"}
    return {**result.speed, "source": "cell"} if result.speed else {}


def _fold_of(job: Job) -> int | None:
    """The job's fold (1-based), from the job or else from its recipe's ``fold`` (``I/K``, or a bare number)."""
    if job.fold is not None:
        return job.fold
    recorded = job.config.get("fold")
    if isinstance(recorded, str) and "/" in recorded:
        return int(recorded.partition("/")[0])
    return recorded if isinstance(recorded, int) else None


def _cell_row(
    job: Job, result: CellResult | None, classes: Sequence[str], ranking_split: str, phase: Mapping[str, Any] | None
) -> dict[str, Any]:
    values: dict[str, Any] = {"cell_id": job.cell_id, "model": job.model, "balancer": job.balancer, "seed": job.seed}
    values["fold"] = _fold_of(job)
    per_class: dict[str, Any] = {}
    if result is None:
        values.update(status=UNFINISHED, error="no result yet (not run, or interrupted)")
    else:
        speed = _speed_of(result, phase)
        source = {**result.to_dict(), "speed": speed}
        values.update(
            distribution=result.plugin.get("distribution"),
            plugin_version=result.plugin.get("version"),
            protocol=result.dataset.get("protocol"),
            synthetic=result.dataset.get("synthetic"),
            status=result.status,
            error=result.error,
            train_device=result.train_device,
            threads=speed.get("threads", result.config.get("threads")),
            test_data=result.test_data or (result.data if "test" in result.metrics else None),
            speed_source=speed.get("source"),
        )
        values.update({m.column(): m.read(source) for m in schema.cell_metrics()})
        for column in SPEED_SPREAD_COLUMNS[:-1]:
            values[column] = speed.get(column)
        for split in SPLITS:
            values.update({m.column(split): m.read(source, split) for m in schema.split_metrics()})
        per_class = result.metrics.get(ranking_split, {}).get("per_class", {})
    row = {column: values.get(column) for column in base_columns()}
    row.update({f"f1_{c}": (per_class.get(c) or {}).get("f1") for c in classes})
    row["config_hash"] = result.config_hash if result is not None else job.config_hash
    return row


def build_results(
    pairs: Sequence[tuple[Job, CellResult | None]],
    speed: Mapping[str, Any] | None = None,
) -> Results:
    """Tables from the planned jobs and their results; the ranking split is test when one was evaluated.

    ``speed`` is the run's speed phase (``bench.speed``): ``{"models": {model: figure}, ...}``; every cell
    of a measured architecture shows that one figure.
    """
    from fer_core.bench.stats import compare_to_baseline, summarise

    finished = [r for _, r in pairs if r is not None and r.status != CORRUPT]
    described = next((r.dataset for r in finished if r.dataset), {})
    classes = list(described.get("classes", []))
    has_test = any("test" in r.metrics for r in finished if r.ok)
    ranking_split = "test" if has_test else "val"
    by_model = dict((speed or {}).get("models", {}))
    rows = [_cell_row(job, result, classes, ranking_split, by_model.get(job.model)) for job, result in pairs]
    return Results(
        rows=rows,
        summary=summarise(rows),
        classes=classes,
        ranking_split=ranking_split,
        dataset=described,
        comparisons=compare_to_baseline(rows, pairs, ranking_split),
        speed=dict(speed or {}),
    )


def write_tables(results: Results, run_dir: Path) -> list[Path]:
    import pandas as pd

    csv_path, json_path = run_dir / "results.csv", run_dir / "results.json"
    frame = pd.DataFrame(results.rows)
    atomic.write_text(csv_path, frame.to_csv(index=False))
    atomic.write_json(json_path, results.to_dict())
    written = [csv_path, json_path]
    if any(entry["n"] > 1 for entry in results.summary):
        summary_path = run_dir / "summary.csv"
        atomic.write_text(summary_path, pd.DataFrame(results.summary).to_csv(index=False))
        written.append(summary_path)
    return written
