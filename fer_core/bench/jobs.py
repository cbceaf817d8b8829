"""The benchmark grid as a list of independent jobs.

A ``Job`` is plain data (JSON- and pickle-friendly): an executor on this machine or on a cluster
worker hands it to ``run_job`` and gets a ``CellResult`` back; nothing else is shared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.errors import UsageError
from fer_core.runs import RUNS_DIR

if TYPE_CHECKING:
    from fer_core.api import Dataset
    from fer_core.bench.cell import CellResult
    from fer_core.registry import Registry

BASELINE = "none"
CELLS_DIR = "cells"
# TrainConfig fields a grid sets per cell itself; overrides may not touch them.
PER_CELL_FIELDS = frozenset({"model", "balancer", "seed", "fold"})
# Torch threads of a cell that sets none. Part of the recipe each job carries, so that every executor
# trains a cell alike (thread counts change the last bits of the floats, and with them the metrics);
# one thread, because two collapse on a shared machine (benchmarks/train_speed.md: 58 vs 1,742 img/s).
CELL_THREADS = 1


@dataclass(frozen=True)
class BenchSpec:
    """What to benchmark. ``models``/``balancers`` are registry patterns (names, wildcards, ``all``).

    ``folds`` K: every cell once per fold (``TrainConfig.fold`` = ``I/K``), scored on its held-out fold.
    ``test_data``: a second dataset spec; the cells' test metrics come from all of its images (scored on the classes
    it shares with ``data``) instead of ``data``'s test split.
    """

    models: tuple[str, ...] = ("all",)
    balancers: tuple[str, ...] = ("all",)
    baseline: bool = True
    seeds: tuple[int, ...] = (0,)
    data: str = "demo"
    folds: int | None = None
    test_data: str | None = None
    epochs: int | None = None
    time_budget_s: float | None = None
    augment: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    name: str = "bench"
    out: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"], data["balancers"], data["seeds"] = list(self.models), list(self.balancers), list(self.seeds)
        data["overrides"] = dict(self.overrides)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchSpec:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("models", "balancers", "seeds"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    def run_dir(self, now: datetime | None = None) -> Path:
        """``--out DIR`` as given; else ``runs/<name>/`` when a name was chosen; else ``runs/<timestamp>-bench/``."""
        if self.out:
            return Path(self.out)
        if self.name != "bench":
            return RUNS_DIR / self.name
        return RUNS_DIR / f"{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}-{self.name}"

    def pinned(self, now: datetime | None = None) -> BenchSpec:
        """This spec with its run folder fixed, so that the caller and ``run_bench`` name the same (timestamped) folder."""
        return replace(self, out=str(self.run_dir(now)))


@dataclass(frozen=True)
class Job:
    """One cell of the grid: train ``model`` with ``balancer`` and ``seed`` on ``data`` (fold ``fold`` of it, 1-based,
    when the grid has folds) with ``config``."""

    cell_id: str
    model: str
    balancer: str
    seed: int
    data: str
    config: dict[str, Any]
    config_hash: str
    cell_dir: str  # relative to the run folder, so a run folder can move or be shared between nodes
    fold: int | None = None
    test_data: str | None = None  # the test metrics come from all of this dataset instead of data's test split

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """A job from its dict; fields added later (``fold``) may be absent in an older run.json."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING})


def cell_id_for(model: str, balancer: str, seed: int, fold: int | None = None) -> str:
    """Stable folder-safe id, e.g. ``timm-resnet18__smote__s0`` (``...__s0__f3`` for fold 3 of a grid with folds)."""

    def safe(name: str) -> str:
        return re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-") or "x"

    return f"{safe(model)}__{safe(balancer)}__s{seed}" + ("" if fold is None else f"__f{fold}")


def parse_list(text: str | Iterable[str]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(item.strip() for item in items if item.strip())


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in parse_list(text))
    except ValueError:
        raise UsageError(f"--seeds takes comma-separated integers such as 0,1,2, not '{text}'") from None
    if not seeds:
        raise UsageError("--seeds needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds lists a seed twice: '{text}'")
    return seeds


def parse_folds(value: int | str | None) -> int | None:
    """``--folds K``: None (no folds) or an integer K >= 2."""
    if value is None:
        return None
    try:
        folds = int(value)
    except (TypeError, ValueError):
        folds = 0
    if isinstance(value, bool) or folds < 2 or str(folds) != str(value).strip():
        raise UsageError(f"--folds takes a number of folds K >= 2 (e.g. 5 or 10), not '{value}'")
    return folds


def fold_numbers(spec: BenchSpec) -> list[int | None]:
    """The folds of the grid, 1..K, or ``[None]`` without folds."""
    return [None] if spec.folds is None else list(range(1, spec.folds + 1))


def train_config(spec: BenchSpec, model: str, balancer: str, seed: int, fold: int | None = None) -> Any:
    """The TrainConfig of one cell: the spec's settings plus this cell's model, balancer, seed, fold and thread count."""
    from fer_core.training.config import TrainConfig, coerce_settings

    clash = PER_CELL_FIELDS & set(spec.overrides)
    if clash:
        raise UsageError(f"the grid sets {', '.join(sorted(clash))} per cell; use --models/--balancers/--seeds/--folds instead")
    values: dict[str, Any] = {**spec.overrides, "model": model, "balancer": balancer, "seed": seed}
    if fold is not None:
        values["fold"] = f"{fold}/{spec.folds}"
    for key, value in (("epochs", spec.epochs), ("time_budget_s", spec.time_budget_s), ("augment", spec.augment)):
        if value is not None:
            values[key] = value
    coerce_settings(values, owner="--set", cls=TrainConfig)  # an unknown or mistyped setting is one line naming it
    if values.get("threads") is None:
        values["threads"] = CELL_THREADS
    return TrainConfig(**values)


def _unhealthy_matches(registry: Registry, kind: str, patterns: Iterable[str]) -> list[str]:
    """Broken plugins that ``all`` or a wildcard would have named: the grid reports them as failed cells."""
    import fnmatch

    wanted = [p.strip().lower() for p in patterns if p.strip()]
    wildcards = [p for p in wanted if p == "all" or any(ch in p for ch in "*?[")]
    return [
        entry.name
        for entry in registry.entries(kind)
        if not entry.is_namespace and not entry.healthy and any(p == "all" or fnmatch.fnmatch(entry.name.lower(), p) for p in wildcards)
    ]


def _is_pattern(text: str) -> bool:
    return text.strip().lower() == "all" or any(ch in text for ch in "*?[")


def select_models(patterns: Iterable[str], registry: Registry) -> list[str]:
    """Names, wildcards and ``all`` in order; a pattern leaves out meta-models (``is_meta``: ``ensemble``), a name keeps them."""
    chosen: list[str] = []
    for pattern in (p for p in patterns if p.strip()):
        names = registry.select("models", [pattern])
        if _is_pattern(pattern):
            names = [name for name in names if not getattr(registry.get("models", name), "is_meta", False)]
        chosen += [name for name in names if name not in chosen]
    return chosen


def select_plugins(spec: BenchSpec, registry: Registry) -> tuple[list[str], list[str]]:
    models = select_models(spec.models, registry)
    models += [name for name in _unhealthy_matches(registry, "models", spec.models) if name not in models]
    if not models:
        raise UsageError("no models selected (is any model plugin installed? see `fer list models`)")
    chosen = registry.select("balancers", spec.balancers)
    chosen += [name for name in _unhealthy_matches(registry, "balancers", spec.balancers) if name not in chosen]
    others = [b for b in chosen if b.lower() != BASELINE]
    named_baseline = any(p.strip().lower() == BASELINE for p in spec.balancers)
    balancers = [BASELINE, *others] if spec.baseline or named_baseline else others
    if not balancers:
        raise UsageError("no balancers selected: name some with --balancers or keep the baseline")
    return models, balancers


def _check_options(spec: BenchSpec, models: list[str], balancers: list[str], registry: Registry) -> None:
    """A bad plugin option in the recipe is one usage line before any cell starts; a plugin that fails to load is
    left to its cells, which fail and are reported."""
    from fer_core.errors import PluginLoadError
    from fer_core.training.setup import augmenter_choice

    for model in models:
        for balancer in balancers:
            config = train_config(spec, model, balancer, spec.seeds[0], None)
            checks = [("models", model, config.model_options), ("balancers", balancer, config.balancer_options)]
            choice = augmenter_choice(config.augment)
            checks += [("augmenters", *choice)] if choice is not None else []
            for kind, name, options in checks:
                try:
                    registry.check_options(kind, name, options)
                except PluginLoadError:
                    continue


def plan_jobs(spec: BenchSpec, registry: Registry) -> list[Job]:
    """The cross product models x balancers x seeds x folds, baseline ``none`` first unless ``spec.baseline`` is off.

    Unknown names raise ``UnknownPluginError`` (exit 2) with close matches; an explicitly named broken
    plugin still gets its cells, which then fail and are reported.
    """
    if not spec.seeds:
        raise UsageError("the grid needs at least one seed")
    parse_folds(spec.folds)
    if spec.folds is not None and spec.test_data:
        raise UsageError("--folds tests each cell on a held-out fold of --data and --test-data on another dataset: choose one")
    models, balancers = select_plugins(spec, registry)
    _check_options(spec, models, balancers, registry)
    jobs: list[Job] = []
    for model in models:
        for balancer in balancers:
            for seed in spec.seeds:
                for fold in fold_numbers(spec):
                    config = train_config(spec, model, balancer, seed, fold)
                    cell_id = cell_id_for(model, balancer, seed, fold)
                    jobs.append(
                        Job(
                            cell_id=cell_id,
                            model=model,
                            balancer=balancer,
                            seed=seed,
                            data=spec.data,
                            config=config.to_dict(),
                            config_hash=config.config_hash(),
                            cell_dir=f"{CELLS_DIR}/{cell_id}",
                            fold=fold,
                            test_data=spec.test_data or None,
                        )
                    )
    duplicates = {j.cell_id for j in jobs if sum(k.cell_id == j.cell_id for k in jobs) > 1}
    if duplicates:
        raise UsageError(f"two selected plugins map to the same cell folder: {', '.join(sorted(duplicates))}")
    return jobs


def run_job(job: Job, run_dir: str | Path, dataset: Dataset | None = None, *, command: str | None = None) -> CellResult:
    """Train and evaluate one cell into ``run_dir/job.cell_dir``; never raises for a failing cell.

    A pure function of the job: it loads the data itself when ``dataset`` is not given, so a
    distributed executor can call it unchanged in a worker process.
    """
    from fer_core.bench.cell import execute_cell

    return execute_cell(job, Path(run_dir), dataset, command=command)
