"""Flat result tables: one row per cell (results.csv / results.json) and mean +- sd over seeds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer_core import atomic
from fer_core.bench.cell import CellResult
from fer_core.bench.jobs import Job

UNFINISHED = "unfinished"
SPLITS = ("val", "test")
SPLIT_METRICS = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy")
BASE_COLUMNS = [
    "cell_id",
    "model",
    "distribution",
    "plugin_version",
    "balancer",
    "seed",
    "protocol",
    "synthetic",
    "status",
    "error",
    "params",
    "mflops",
    "input_size",
    "checkpoint_mb",
    "epochs_run",
    "best_epoch",
    "train_seconds",
    "train_device",
    "stopped_reason",
    "images_per_s",
    "latency_p50_ms",
    "threads",
    *[f"{split}_{metric}" for split in SPLITS for metric in SPLIT_METRICS],
]
SUMMARY_METRICS = (
    "val_accuracy",
    "val_macro_f1",
    "val_weighted_f1",
    "test_accuracy",
    "test_macro_f1",
    "test_weighted_f1",
    "images_per_s",
    "train_seconds",
)


@dataclass
class Results:
    """The tables of a run, plus what is needed to read them."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    classes: list[str]
    ranking_split: str
    dataset: dict[str, Any] = field(default_factory=dict)

    @property
    def score_column(self) -> str:
        return f"{self.ranking_split}_macro_f1"

    def leaderboard(self) -> list[dict[str, Any]]:
        """Finished rows, best macro-F1 on the ranking split first."""
        ok = [r for r in self.rows if r["status"] == "ok"]
        return sorted(ok, key=lambda r: (-_num(r.get(self.score_column)), r["cell_id"]))

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "ranking_split": self.ranking_split,
            "classes": self.classes,
            "rows": self.rows,
            "summary": self.summary,
        }


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)) else -math.inf


def _cell_row(job: Job, result: CellResult | None, classes: Sequence[str], ranking_split: str) -> dict[str, Any]:
    values: dict[str, Any] = {"cell_id": job.cell_id, "model": job.model, "balancer": job.balancer, "seed": job.seed}
    per_class: dict[str, Any] = {}
    if result is None:
        values.update(status=UNFINISHED, error="no result yet (not run, or interrupted)")
    else:
        values.update(
            distribution=result.plugin.get("distribution"),
            plugin_version=result.plugin.get("version"),
            protocol=result.dataset.get("protocol"),
            synthetic=result.dataset.get("synthetic"),
            status=result.status,
            error=result.error,
            params=result.params,
            mflops=result.mflops,
            input_size=result.input_size,
            checkpoint_mb=result.checkpoint_mb,
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            train_seconds=result.train_seconds,
            train_device=result.train_device,
            stopped_reason=result.stopped_reason,
            images_per_s=result.speed.get("images_per_s"),
            latency_p50_ms=result.speed.get("latency_p50_ms"),
            threads=result.speed.get("threads"),
        )
        for split in SPLITS:
            for metric in SPLIT_METRICS:
                values[f"{split}_{metric}"] = result.metrics.get(split, {}).get(metric)
        per_class = result.metrics.get(ranking_split, {}).get("per_class", {})
    row = {column: values.get(column) for column in BASE_COLUMNS}
    row.update({f"f1_{c}": per_class.get(c, {}).get("f1") for c in classes})
    row["config_hash"] = result.config_hash if result is not None else job.config_hash
    return row


def _summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["balancer"]), []).append(row)
    summary = []
    for (model, balancer), members in groups.items():
        ok = [r for r in members if r["status"] == "ok"]
        entry: dict[str, Any] = {"model": model, "balancer": balancer, "seeds": len(ok), "not_ok": len(members) - len(ok)}
        for metric in SUMMARY_METRICS:
            values = [float(r[metric]) for r in ok if r.get(metric) is not None]
            entry[f"{metric}_mean"] = statistics.fmean(values) if values else None
            entry[f"{metric}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        summary.append(entry)
    return summary


def build_results(pairs: Sequence[tuple[Job, CellResult | None]]) -> Results:
    """Tables from the planned jobs and their saved results; the ranking split is test when one was evaluated."""
    finished = [r for _, r in pairs if r is not None]
    described = next((r.dataset for r in finished if r.dataset), {})
    classes = list(described.get("classes", []))
    has_test = any("test" in r.metrics for r in finished if r.ok)
    ranking_split = "test" if has_test else "val"
    rows = [_cell_row(job, result, classes, ranking_split) for job, result in pairs]
    return Results(rows=rows, summary=_summary(rows), classes=classes, ranking_split=ranking_split, dataset=described)


def write_tables(results: Results, run_dir: Path) -> list[Path]:
    import pandas as pd

    csv_path, json_path = run_dir / "results.csv", run_dir / "results.json"
    frame = pd.DataFrame(results.rows)
    atomic.write_text(csv_path, frame.to_csv(index=False))
    atomic.write_json(json_path, results.to_dict())
    written = [csv_path, json_path]
    if any(entry["seeds"] > 1 for entry in results.summary):
        summary_path = run_dir / "summary.csv"
        atomic.write_text(summary_path, pd.DataFrame(results.summary).to_csv(index=False))
        written.append(summary_path)
    return written
