"""The friendly door for Python callers: ``train``, ``evaluate`` and ``run_bench`` with plain arguments.

Each is a thin layer over the library function a command calls (``fer_core.training.trainer.train``,
``fer_core.training.evaluate.evaluate_model``, ``fer_core.bench.runner.run_bench``). Data may be a spec
string (``"demo"``, a path, ``NAME:PATH``, ``A+B``) or a loaded ``Dataset``; a model may be a ``TrainResult``,
a checkpoint path, an installed weights name (``fer-fast``) or a module with its checkpoint metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.api import Dataset
from fer_core.errors import UsageError

if TYPE_CHECKING:
    from torch import nn

    from fer_core.bench.executors import Executor, OnEvent
    from fer_core.bench.jobs import BenchSpec
    from fer_core.bench.runner import BenchResult
    from fer_core.bench.speed import SpeedSettings
    from fer_core.registry import Registry
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import TrainResult

DataArg = str | Path | Dataset


def _dataset(data: DataArg, options: Mapping[str, Any] | None) -> tuple[Dataset, str | None]:
    """The dataset and the spec to record (None for a ``Dataset`` given in memory: it cannot be reloaded)."""
    if isinstance(data, Dataset):
        if options:
            raise UsageError("data options go with a data spec such as 'demo', not with a loaded Dataset")
        return data, None
    from fer_core.data.loading import load_dataset

    return load_dataset(data, options=options), str(data)


def train(
    config: TrainConfig | None = None,
    data: DataArg = "demo",
    out_dir: Path | str | None = None,
    *,
    data_options: Mapping[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
    **settings: Any,
) -> TrainResult:
    """Train ``config`` (or a ``TrainConfig`` made of ``settings``; given both, ``settings`` override it) on ``data``.

    The run goes to ``out_dir``, by default ``runs/train-<time>-<model>`` as with ``fer train``. The returned
    ``TrainResult`` holds the best model in memory (``.model``) and its checkpoint (``.checkpoint``).
    """
    from dataclasses import replace

    from fer_core.runs import train_run_dir
    from fer_core.training.config import TrainConfig
    from fer_core.training.trainer import train as train_run

    if config is None:
        config = TrainConfig(**settings)
    elif settings:
        config = replace(config, **settings)
    dataset, spec = _dataset(data, data_options)
    folder = Path(out_dir) if out_dir is not None else train_run_dir(config.model)
    options = dict(data_options or {}) if spec is not None else None
    return train_run(config, dataset, folder, resume=resume, overwrite=overwrite, quiet=quiet, data_spec=spec, data_options=options)


def evaluate(
    model: TrainResult | nn.Module | str | Path,
    data: DataArg | None = None,
    split: str = "val",
    *,
    meta: Mapping[str, Any] | None = None,
    tta: str = "none",
    exclude_train_duplicates: bool = False,
    data_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The metrics of ``model`` on one ``split`` of ``data``, as ``fer eval --json`` prints them.

    ``model``: a ``TrainResult``, a checkpoint (file, stem or run folder), an installed weights name, or an
    ``nn.Module`` with its checkpoint ``meta``. ``data`` None means the data the checkpoint records.
    """
    from fer_core.training.evaluate import evaluate_model, recorded_fold

    module, record, checkpoint = _model_and_meta(model, meta)
    recorded = record.get("data") or {}
    if data is None:
        if not recorded.get("spec"):
            raise UsageError("the model records no dataset it can reload; pass data (e.g. 'demo')")
        data, data_options = recorded["spec"], {**(recorded.get("options") or {}), **(data_options or {})}
    dataset, spec = _dataset(data, data_options)
    dataset = recorded_fold(record, dataset, spec)  # as `fer eval`: a fold run is scored on its fold
    return evaluate_model(
        module,
        dict(record),
        dataset,
        split=split,
        tta=tta,
        exclude_train_duplicates=exclude_train_duplicates,
        checkpoint=checkpoint,
    )


def _model_and_meta(model: Any, meta: Mapping[str, Any] | None) -> tuple[nn.Module, Mapping[str, Any], Path | None]:
    """(module, checkpoint metadata, checkpoint file or None) of whatever ``evaluate`` was given."""
    from fer_core.training.recording import TrainResult

    if isinstance(model, TrainResult):
        if model.model is not None:
            return model.model, model.meta, model.checkpoint
        model = model.checkpoint
    if isinstance(model, str | Path):
        from fer_core.checkpoint import load_checkpoint, resolve_checkpoint
        from fer_core.predict.weights import resolve_weights

        path = resolve_checkpoint(resolve_weights(model))
        module, record = load_checkpoint(path)
        return module, record, path
    if meta is None:
        raise UsageError("an in-memory model needs its checkpoint metadata: evaluate(model, data, meta=...)")
    return model, meta, None


def run_bench(
    models: str | Iterable[str] = "all",
    balancers: str | Iterable[str] = "all",
    *,
    data: DataArg = "demo",
    seeds: int | Iterable[int] = (0,),
    settings: Mapping[str, Any] | None = None,
    out: Path | str | None = None,
    executor: str | Executor | None = None,
    progress: OnEvent | None = None,
    redo_changed: bool = False,
    speed: bool | SpeedSettings = True,
    registry: Registry | None = None,
    **spec: Any,
) -> BenchResult:
    """Train and score every model x balancer x seed cell, as ``fer bench`` does; returns the results in memory.

    ``models``/``balancers``: names, wildcards or ``all`` (a comma-separated string or a list). ``settings`` are
    any ``TrainConfig`` fields (``{"batch_size": 32}``); ``spec`` any other ``BenchSpec`` field (``epochs=1``,
    ``folds=5``, ``baseline=False``, ``name="my-grid"``, ...). The run folder is ``out``, else ``runs/<name>/``
    for a chosen name, else ``runs/<timestamp>-bench/``; rerunning into it resumes the grid. A ``Dataset`` given
    as ``data`` runs on the local executor, under the dataset's name. ``registry``: plugins to use instead of the
    installed ones (``fer_core.registry.use_registry``), for planning and for the local cells.
    """
    from fer_core.bench.executors import LocalExecutor, ignore_event, make_executor
    from fer_core.bench.runner import run_bench as run_grid
    from fer_core.bench.speed import SpeedSettings
    from fer_core.registry import use_registry

    if isinstance(data, Dataset) and executor not in (None, "local"):
        raise UsageError("a Dataset in memory runs on the local executor only; pass a data spec for another executor")
    grid = _bench_spec(models, balancers, data, seeds, settings, out, spec)
    if isinstance(data, Dataset):
        runner: Executor = LocalExecutor(datasets={data.name: data})
    else:
        runner = executor if executor is not None and not isinstance(executor, str) else make_executor(executor)
    timing = SpeedSettings() if speed is True else (speed or None)
    with use_registry(registry) if registry is not None else nullcontext():  # the cells create their plugins from it too
        return run_grid(grid, runner, progress or ignore_event, redo_changed=redo_changed, speed=timing)


def _bench_spec(
    models: str | Iterable[str],
    balancers: str | Iterable[str],
    data: DataArg,
    seeds: int | Iterable[int],
    settings: Mapping[str, Any] | None,
    out: Path | str | None,
    spec: Mapping[str, Any],
) -> BenchSpec:
    from dataclasses import fields

    from fer_core.bench.jobs import BenchSpec, parse_list
    from fer_core.options import unknown_option_message

    spec_fields = {f.name for f in fields(BenchSpec)} - {"models", "balancers", "data", "seeds", "overrides", "out"}
    keywords = {"data", "seeds", "settings", "out", "executor", "progress", "redo_changed", "speed", "registry"}
    for key in spec:
        if key not in spec_fields:
            raise UsageError(unknown_option_message("run_bench", key, sorted(spec_fields | keywords)))
    return BenchSpec(
        models=parse_list(models),
        balancers=parse_list(balancers),
        data=data.name if isinstance(data, Dataset) else str(data),
        seeds=(seeds,) if isinstance(seeds, int) else tuple(int(seed) for seed in seeds),
        overrides=dict(settings or {}),
        out=None if out is None else str(out),
        **spec,
    ).pinned()
