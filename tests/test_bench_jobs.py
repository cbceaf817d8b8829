"""Planning the bench grid: selection, baseline, seeds, cell ids, serialisable jobs. No training here."""

import json
import pickle
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from fer_core.bench.jobs import BenchSpec, Job, cell_id_for, parse_seeds, plan_jobs
from fer_core.errors import UnknownPluginError, UsageError
from fer_core.registry import Registry


def _registry() -> Registry:
    def ep(name: str, value: str, group: str) -> EntryPoint:
        return EntryPoint(name=name, value=value, group=group)

    return Registry(
        [
            ep("mycnn_v1", "fer_mycnn.models:MyCNNv1", "fer.models"),
            ep("mycnn_v2", "fer_mycnn.models:MyCNNv2", "fer.models"),
            ep("mycnn_v3", "fer_mycnn.models:MyCNNv3", "fer.models"),
            ep("broken_net", "fer_no_such_module_for_bench:Model", "fer.models"),
            ep("none", "fer_core.balancers:NoBalancer", "fer.balancers"),
            ep("weighted", "fer_weighted:WeightedBalancer", "fer.balancers"),
            ep("albumentations", "fer_core.training.augment:AlbumentationsAugmenter", "fer.augmenters"),
        ]
    )


def _cells(jobs: list[Job]) -> list[str]:
    return [job.cell_id for job in jobs]


def test_cross_product_puts_the_baseline_first_and_varies_seed_fastest():
    spec = BenchSpec(models=("mycnn_v1", "mycnn_v2"), balancers=("weighted",), seeds=(0, 1), epochs=2)
    jobs = plan_jobs(spec, _registry())
    assert _cells(jobs) == [
        "mycnn_v1__none__s0",
        "mycnn_v1__none__s1",
        "mycnn_v1__weighted__s0",
        "mycnn_v1__weighted__s1",
        "mycnn_v2__none__s0",
        "mycnn_v2__none__s1",
        "mycnn_v2__weighted__s0",
        "mycnn_v2__weighted__s1",
    ]
    first = jobs[0]
    assert first.config["epochs"] == 2 and first.config["seed"] == 0 and first.config["balancer"] == "none"
    assert first.cell_dir == "cells/mycnn_v1__none__s0"
    assert len({job.config_hash for job in jobs}) == len(jobs), "every cell trains a different recipe"


def test_no_baseline_drops_none_unless_named():
    registry = _registry()
    assert _cells(plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=("all",), baseline=False), registry)) == ["mycnn_v1__weighted__s0"]
    named = BenchSpec(models=("mycnn_v1",), balancers=("none", "weighted"), baseline=False)
    assert _cells(plan_jobs(named, registry)) == ["mycnn_v1__none__s0", "mycnn_v1__weighted__s0"]
    with pytest.raises(UsageError, match="no balancers"):
        plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=(), baseline=False), registry)


def test_wildcards_and_all_also_list_broken_models_so_their_cells_fail_visibly():
    registry = _registry()
    wildcard = plan_jobs(BenchSpec(models=("mycnn*",), balancers=("weighted",)), registry)
    assert {j.model for j in wildcard} == {"mycnn_v1", "mycnn_v2", "mycnn_v3"}
    models = list(dict.fromkeys(j.model for j in plan_jobs(BenchSpec(models=("all",), balancers=("weighted",)), registry)))
    assert models == ["mycnn_v1", "mycnn_v2", "mycnn_v3", "broken_net"]


def test_unknown_model_is_a_usage_error_with_close_matches():
    with pytest.raises(UnknownPluginError, match="did you mean mycnn_v1") as info:
        plan_jobs(BenchSpec(models=("mycnn_v11",)), _registry())
    assert info.value.exit_code == 2


def test_jobs_survive_json_and_pickle_unchanged():
    job = plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=("weighted",), augment="none", overrides={"lr": 0.01}), _registry())[1]
    assert Job.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    assert pickle.loads(pickle.dumps(job)) == job
    assert job.config["lr"] == 0.01 and job.config["augment"] == "none"


def test_config_hash_follows_the_recipe_not_the_thread_count():
    registry = _registry()

    def only(**settings):
        return plan_jobs(BenchSpec(models=("mycnn_v1",), baseline=True, balancers=("none",), **settings), registry)[0].config_hash

    assert only(epochs=1) == only(epochs=1, overrides={"threads": 1})
    assert only(epochs=1) != only(epochs=2)


def test_bad_training_settings_are_usage_errors():
    registry = _registry()
    with pytest.raises(UsageError, match="unknown training setting"):
        plan_jobs(BenchSpec(models=("mycnn_v1",), overrides={"epoch": 3}), registry)
    with pytest.raises(UsageError, match="per cell"):
        plan_jobs(BenchSpec(models=("mycnn_v1",), overrides={"seed": 3}), registry)
    with pytest.raises(UsageError, match="learning rate"):
        plan_jobs(BenchSpec(models=("mycnn_v1",), overrides={"lr": -1.0}), registry)


def test_cell_ids_are_folder_safe():
    assert cell_id_for("timm/resnet18", "smote", 2) == "timm-resnet18__smote__s2"
    assert cell_id_for("a b:c", "w", 0) == "a-b-c__w__s0"


@pytest.mark.parametrize(("text", "message"), [("0,x", "integers"), ("", "at least one"), ("1,1", "twice")])
def test_bad_seeds(text, message):
    with pytest.raises(UsageError, match=message):
        parse_seeds(text)


def test_spec_round_trip_and_run_folder_choice():
    spec = BenchSpec(models=("a", "b"), seeds=(0, 2), time_budget_s=60.0, overrides={"lr": 0.1})
    assert BenchSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.run_dir(datetime(2025, 1, 2, 3, 4, 5)) == Path("runs/20250102-030405-bench")
    assert BenchSpec(name="grid1").run_dir() == Path("runs/grid1")
    assert BenchSpec(name="grid1", out="/tmp/x").run_dir() == Path("/tmp/x")


def test_all_and_wildcards_leave_out_meta_models_but_a_name_keeps_them():
    from fer_core.api import ModelPlugin

    class Combined(ModelPlugin):
        description = "A model made of other registered models."
        is_meta = True

        def build(self, num_classes, in_channels=1, input_size=48):
            raise NotImplementedError

    registry = _registry()
    registry.add_object("models", "ensemble", Combined)
    registry.add_object("models", "mycnn_meta", Combined)
    models = lambda *patterns: list(dict.fromkeys(j.model for j in plan_jobs(BenchSpec(models=patterns, balancers=("none",)), registry)))  # noqa: E731
    assert "ensemble" not in models("all") and "mycnn_v1" in models("all")
    assert models("mycnn*") == ["mycnn_v1", "mycnn_v2", "mycnn_v3"]
    assert models("ensemble") == ["ensemble"]
    mixed = models("mycnn_v2", "all", "mycnn_meta")
    assert mixed[:3] == ["mycnn_v2", "mycnn_v1", "mycnn_v3"] and "mycnn_meta" in mixed and "ensemble" not in mixed


def test_every_cell_carries_its_thread_count_so_executors_train_it_alike():
    registry = _registry()
    default = plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=("none",)), registry)[0]
    assert default.config["threads"] == 1
    chosen = plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=("none",), overrides={"threads": 2}), registry)[0]
    assert chosen.config["threads"] == 2 and chosen.config_hash == default.config_hash


def test_a_pinned_spec_names_one_folder_however_late_it_is_asked():
    pinned = BenchSpec().pinned(datetime(2025, 1, 2, 3, 4, 5))
    assert pinned.out == "runs/20250102-030405-bench" and pinned.run_dir() == Path("runs/20250102-030405-bench")
    assert BenchSpec(name="grid1").pinned().out == "runs/grid1"


def test_executor_choice_is_the_library_s():
    from fer_core.bench.executors import LocalExecutor, make_executor

    assert isinstance(make_executor(), LocalExecutor) and isinstance(make_executor("local", address=None), LocalExecutor)
    with pytest.raises(UsageError, match="--address, --cpus-per-job: only with --executor ray"):
        make_executor("local", address="auto", cpus_per_job=2)
    with pytest.raises(UsageError, match="--executor must be one of local, ray, not 'dask'"):
        make_executor("dask")
