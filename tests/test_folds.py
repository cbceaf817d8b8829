"""K-fold protocols: the folds themselves, `fer train --fold I/K`, and `fer bench --folds K` (cells, rows, resume)."""

from collections import Counter

import numpy as np
import pytest

from fer_core.api import Dataset, Split
from fer_core.bench.executors import LocalExecutor
from fer_core.bench.jobs import BenchSpec, cell_id_for, parse_folds, plan_jobs
from fer_core.bench.runner import run_bench
from fer_core.bench.store import cell_results, read_run, run_jobs
from fer_core.data.loading import load_dataset
from fer_core.data.splits import fold_dataset, fold_indices, kfold, parse_fold, pooled
from fer_core.errors import DataError, UsageError
from fer_core.registry import get_registry
from fer_core.training.config import TrainConfig
from tests.bench_support import FAST, tiny_demo
from tests.cli_support import run_fer
from tests.data_support import make_ck_folder


def _toy(n_per_class=(30, 20, 10), groups_per_class: int | None = None) -> Dataset:
    """A labelled toy dataset; with ``groups_per_class`` every image belongs to one of that many subjects per class."""
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    images = np.arange(len(labels), dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2)
    groups = None
    if groups_per_class:
        groups = np.array([f"S{c}_{i % groups_per_class}" for c, n in enumerate(n_per_class) for i in range(n)])
    ids = np.array([f"img{i}" for i in range(len(labels))])
    split = Split(images=images, labels=labels.astype(np.int64), groups=groups, ids=ids)
    return Dataset(name="toy", classes=("a", "b", "c"), splits={"train": split}, protocol="toy:holdout:3cls")


def test_parse_fold_reads_one_based_i_of_k_and_refuses_the_rest():
    assert parse_fold("2/5") == (2, 5)
    assert parse_fold(" 5/5 ") == (5, 5)
    for bad in ("0/5", "6/5", "x/5", "1/1", "2", "2/", "/5", "-1/5"):
        with pytest.raises(UsageError, match="I/K"):
            parse_fold(bad)


def test_folds_are_deterministic_disjoint_and_cover_every_image():
    labels = _toy().splits["train"].labels
    first, again = fold_indices(labels, 5), fold_indices(labels, 5)
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(first, again, strict=True))
    tests = np.concatenate([test for _, test in first])
    assert sorted(tests.tolist()) == list(range(len(labels)))  # each image held out exactly once
    for train, test in first:
        assert not set(train.tolist()) & set(test.tolist())
        assert len(train) + len(test) == len(labels)


def test_ungrouped_folds_are_stratified():
    labels = _toy((30, 20, 10)).splits["train"].labels
    for _, test in fold_indices(labels, 5):
        assert Counter(labels[test].tolist()) == {0: 6, 1: 4, 2: 2}


def test_grouped_folds_never_split_a_subject_and_stay_roughly_stratified():
    dataset = _toy((60, 40, 20), groups_per_class=10)
    split = dataset.splits["train"]
    for train, test in fold_indices(split.labels, 5, groups=split.groups):
        assert not set(split.groups[train].tolist()) & set(split.groups[test].tolist())
        assert set(np.unique(split.labels[test]).tolist()) == {0, 1, 2}  # every class in every held-out fold


def test_too_few_subjects_or_images_for_k_is_one_line():
    dataset = _toy((6, 6, 6), groups_per_class=1)
    with pytest.raises(DataError, match="cannot make 5 subject-grouped folds from 3 subjects"):
        fold_dataset(dataset, "1/5")
    with pytest.raises(DataError, match="k >= 2"):
        fold_indices(np.zeros(10), 1)


def test_fold_dataset_holds_out_the_kfold_partition_and_carves_val_from_the_rest():
    dataset = _toy((60, 40, 20), groups_per_class=10)
    everything = pooled(dataset)
    held_out = []
    for i, plain in enumerate(kfold(dataset, 4), 1):
        fold = fold_dataset(dataset, f"{i}/4")
        assert set(fold.splits) == {"train", "val", "test"}
        assert fold.splits["test"].ids.tolist() == plain.splits["test"].ids.tolist()  # one implementation of the partition
        subjects = {name: set(split.groups.tolist()) for name, split in fold.splits.items()}
        assert not subjects["train"] & subjects["val"] and not subjects["train"] & subjects["test"]
        assert not subjects["val"] & subjects["test"]  # validation never comes from the held-out fold
        assert sum(len(s) for s in fold.splits.values()) == len(everything)
        assert fold.protocol == "toy:4fold-subject:3cls"
        assert (fold.meta["fold"], fold.meta["folds"]) == (i, 4)
        assert fold_dataset(fold, f"{i}/4") is fold  # already that fold: kept as it is
        held_out += fold.splits["test"].ids.tolist()
    assert sorted(held_out) == sorted(everything.ids.tolist())
    assert fold_dataset(dataset, None) is dataset


def test_ckplus_folds_are_grouped_by_subject(tmp_path):
    dataset = load_dataset(make_ck_folder(tmp_path / "ck", subjects=20), cache=False)
    for i in (1, 2, 3):
        fold = fold_dataset(dataset, f"{i}/3")
        parts = [set(fold.splits[name].groups.tolist()) for name in ("train", "val", "test")]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
        assert fold.protocol == "ck+:3fold-subject:7cls"


def test_the_fold_is_a_validated_recorded_recipe_field():
    config = TrainConfig(model="mycnn_v1", fold="2/5")
    assert config.to_dict()["fold"] == "2/5"
    assert config.config_hash() != TrainConfig(model="mycnn_v1").config_hash()
    with pytest.raises(UsageError, match="fold must be I/K"):
        TrainConfig(model="mycnn_v1", fold="6/5")


@pytest.mark.parametrize("fold", ["0/5", "6/5", "x/5", "1/1"])
def test_fer_train_refuses_a_bad_fold_in_one_line(monkeypatch, capsys, tmp_path, fold):
    code, _out, err = run_fer(monkeypatch, capsys, "train", "-m", "mycnn_v1", "-d", "demo", "--fold", fold, "--out", str(tmp_path / "r"))
    assert code == 2, err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1 and "I/K" in err


def test_fer_train_trains_on_the_fold_and_records_it(monkeypatch, capsys, tmp_path):
    import json

    args = ["train", "-m", "mycnn_v1", "-d", "demo", "--fold", "2/3", "--epochs", "1", "--threads", "1", "--augment", "none"]
    code, _out, err = run_fer(monkeypatch, capsys, *args, "--out", str(tmp_path / "r"), dataset=tiny_demo())
    assert code == 0, err
    meta = json.loads((tmp_path / "r" / "best.json").read_text())
    assert meta["config"]["fold"] == "2/3"
    assert meta["data"]["protocol"] == "demo:3fold:7cls"
    expected = fold_dataset(tiny_demo(), "2/3")
    assert meta["val_metrics"]["n"] == len(expected.splits["val"])


def test_parse_folds():
    assert parse_folds(None) is None and parse_folds("5") == 5 and parse_folds(10) == 10
    for bad in ("1", "0", "x", "2.5", True):
        with pytest.raises(UsageError, match="--folds takes"):
            parse_folds(bad)


def test_folds_expand_the_grid_one_cell_per_fold():
    spec = BenchSpec(models=("mycnn_v1",), balancers=("weighted",), seeds=(0, 1), folds=3)
    jobs = plan_jobs(spec, get_registry())
    assert len(jobs) == 2 * 2 * 3
    assert [j.cell_id for j in jobs[:3]] == [cell_id_for("mycnn_v1", "none", 0, f) for f in (1, 2, 3)]
    assert jobs[0].cell_id == "mycnn_v1__none__s0__f1"
    assert {(j.balancer, j.seed, j.fold, j.config["fold"]) for j in jobs} == {
        (b, s, f, f"{f}/3") for b in ("none", "weighted") for s in (0, 1) for f in (1, 2, 3)
    }
    assert len({j.config_hash for j in jobs}) == len(jobs)  # the fold is part of each cell's identity
    plain = plan_jobs(BenchSpec(models=("mycnn_v1",), balancers=("weighted",)), get_registry())
    assert [j.cell_id for j in plain] == ["mycnn_v1__none__s0", "mycnn_v1__weighted__s0"]  # no folds: ids as before
    assert all(j.fold is None and j.config["fold"] is None for j in plain)
    with pytest.raises(UsageError, match="per cell"):
        plan_jobs(BenchSpec(models=("mycnn_v1",), overrides={"fold": "1/2"}), get_registry())


@pytest.fixture(scope="module")
def folded_grid(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("folds") / "grid"
    spec = BenchSpec(models=("mycnn_v1",), balancers=("weighted",), folds=2, epochs=1, augment="none", overrides=FAST, out=str(run_dir))
    outcome = run_bench(spec, LocalExecutor(datasets={"demo": tiny_demo()}), command="pytest folds", speed=None)
    return spec, run_dir, outcome


def test_bench_rows_carry_the_fold_and_test_on_the_held_out_fold(folded_grid):
    import pandas as pd

    _, run_dir, outcome = folded_grid
    frame = pd.read_csv(run_dir / "results.csv")
    assert sorted(zip(frame["balancer"], frame["fold"], strict=True)) == [("none", 1), ("none", 2), ("weighted", 1), ("weighted", 2)]
    assert (frame["status"] == "ok").all() and frame["test_macro_f1"].notna().all()
    assert set(frame["protocol"]) == {"demo:2fold:7cls"}
    for job, result in cell_results(run_dir, run_jobs(read_run(run_dir))):
        fold = fold_dataset(tiny_demo(), f"{job.fold}/2")
        assert result.fold == job.fold
        assert result.dataset["splits"] == {name: len(split) for name, split in fold.splits.items()}
        assert result.metrics["test"]["confusion"] and sum(map(sum, result.metrics["test"]["confusion"])) == len(fold.splits["test"])
    summary = {(e["model"], e["balancer"]): e for e in outcome.results.summary}
    assert summary[("mycnn_v1", "none")]["n"] == 2 and summary[("mycnn_v1", "none")]["folds"] == 2
    f1 = frame[frame["balancer"] == "none"]["test_macro_f1"]
    assert summary[("mycnn_v1", "none")]["test_macro_f1_mean"] == pytest.approx(f1.mean())
    report = (run_dir / "report.md").read_text()
    assert "; folds 2;" in report and "pooled into 2 stratified folds" in report
    compared = [c for c in outcome.results.comparisons if c["metric"] == "test_macro_f1"]
    assert compared and compared[0]["n"] == 2  # paired over the two folds


def test_rerunning_a_folded_bench_skips_every_finished_cell(folded_grid):
    spec, _run_dir, first = folded_grid
    again = run_bench(spec, LocalExecutor(datasets={"demo": tiny_demo()}), command="pytest folds again", speed=None)
    assert again.ran == [] and sorted(again.skipped) == sorted(r["cell_id"] for r in first.results.rows)


def _folded_results():
    from fer_core.bench.results import build_results
    from tests.bench_support import hand_made_pair

    f1 = {("none", 1): 0.50, ("none", 2): 0.60, ("none", 3): 0.55, ("smote", 1): 0.62, ("smote", 2): 0.71, ("smote", 3): 0.66}
    pairs = [
        hand_made_pair("timm-efficientnet_b0", b, 0, {"test": {"accuracy": f + 0.1, "macro_f1": f, "weighted_f1": f}}, fold=k)
        for (b, k), f in f1.items()
    ]
    return build_results(pairs), f1


def test_with_folds_the_tables_rank_groups_with_mean_sd_and_n():
    import statistics

    from rich.console import Console

    from fer_core.bench.report import render_report
    from fer_core.bench.table import leaderboard_table

    results, f1 = _folded_results()
    assert results.folded
    groups = results.groups()
    assert [(g["balancer"], g["n"], g["folds"]) for g in groups] == [("smote", 3, 3), ("none", 3, 3)]
    smote = [f1["smote", k] for k in (1, 2, 3)]
    assert groups[0]["test_macro_f1"] == pytest.approx(statistics.fmean(smote))
    assert groups[0]["test_macro_f1_sd"] == pytest.approx(statistics.stdev(smote))
    console = Console(width=80, record=True, color_system=None)
    console.print(leaderboard_table(results, "leaderboard (toy:3fold:3cls): test split, by macro-F1", width=80))
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 80
    body = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [row[:4] for row in body] == [["1", "timm-efficientnet_b0", "smote", "3"], ["2", "timm-efficientnet_b0", "none", "3"]]
    assert f"{statistics.fmean(smote):.3f}±{statistics.stdev(smote):.3f}" in body[0]
    report = render_report(results, [], {"name": "folds"}, {})
    assert "| 1 | timm-efficientnet_b0 | smote | 3 |" in report
    assert f"{statistics.fmean(smote):.4f} ± {statistics.stdev(smote):.4f}" in report
    assert "## Cells (one per fold and seed)" in report and "| seed | fold |" in report
    (comparison,) = [c for c in results.comparisons if c["metric"] == "test_macro_f1"]
    assert comparison["n"] == 3 and comparison["delta"] == pytest.approx(statistics.fmean([0.12, 0.11, 0.11]))
