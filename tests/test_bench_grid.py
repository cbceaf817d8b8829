"""A real (tiny) grid in process: files, failed cells, resuming, rebuilding the report, comparing runs."""

import json
import shutil

import pytest
import torch

from fer_core.bench.cell import ERROR_FILE, RESULT_FILE, read_result
from fer_core.bench.compare import compare_runs
from fer_core.bench.executors import LocalExecutor
from fer_core.bench.jobs import BenchSpec
from fer_core.bench.report import SYNTHETIC_WARNING
from fer_core.bench.runner import rebuild_report, run_bench
from fer_core.bench.speed import SpeedSettings
from fer_core.errors import UsageError
from tests.bench_support import FAST, failing_models, tiny_demo

OK_CELLS = ["mycnn_v1__none__s0", "mycnn_v1__weighted__s0"]
QUICK_SPEED = SpeedSettings(seconds_per_model=0.2, min_rounds=3, max_rounds=5)
FAILED_CELLS = ["nan_model__none__s0", "nan_model__weighted__s0", "oom_model__none__s0", "oom_model__weighted__s0"]


def _spec(run_dir, **changes):
    settings = {
        "models": ("mycnn_v1", "nan_model", "oom_model"),
        "balancers": ("weighted",),
        "epochs": 1,
        "augment": "none",
        "overrides": FAST,
        "out": str(run_dir),
    }
    return BenchSpec(**{**settings, **changes})


def _run(spec, events=None):
    on_event = events.append if events is not None else (lambda event: None)
    return run_bench(spec, LocalExecutor(datasets={"demo": tiny_demo()}), on_event, command="pytest grid", speed=QUICK_SPEED)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    with failing_models(tmp_path_factory.mktemp("site")):
        run_dir = tmp_path_factory.mktemp("bench") / "grid"
        events = []
        outcome = _run(_spec(run_dir), events)
        yield run_dir, outcome, events


def test_grid_writes_every_file(grid):
    run_dir, outcome, _ = grid
    for name in ("run.json", "results.csv", "results.json", "report.md"):
        assert (run_dir / name).is_file(), name
    for plot in ("balancer_comparison", "per_class_f1", "accuracy_vs_speed"):
        assert (run_dir / "plots" / f"{plot}.png").stat().st_size > 10_000, plot
    for cell in OK_CELLS:
        assert (run_dir / "plots" / "confusion" / f"{cell}.png").is_file()
        assert (run_dir / "cells" / cell / "best.safetensors").is_file()
        assert not (run_dir / "cells" / cell / "state.safetensors").exists(), "finished cells drop their resume state"
    assert outcome.report == run_dir / "report.md"
    run = json.loads((run_dir / "run.json").read_text())
    assert [job["cell_id"] for job in run["jobs"]] == OK_CELLS[:1] + OK_CELLS[1:] + FAILED_CELLS
    assert run["environment"]["torch"] and run["environment"]["cpu"]
    assert run["invocations"][0]["command"] == "pytest grid"


def test_finished_rows_carry_metrics_costs_and_per_class_f1(grid):
    _, outcome, _ = grid
    rows = {r["cell_id"]: r for r in outcome.results.rows}
    assert outcome.results.ranking_split == "test"
    for cell in OK_CELLS:
        row = rows[cell]
        assert row["status"] == "ok" and row["error"] == ""
        assert row["distribution"] == "fer-mycnn" and row["protocol"] == "demo:synthetic:7cls" and row["synthetic"] is True
        assert row["params"] > 1000 and row["mflops"] > 0 and row["checkpoint_mb"] > 0
        assert row["images_per_s"] > 0 and row["latency_p50_ms"] > 0 and row["threads"] == 1
        assert row["epochs_run"] == 1 and row["best_epoch"] == 1 and row["train_seconds"] > 0
        assert row["train_device"].startswith("cuda:0 (") if torch.cuda.is_available() else row["train_device"] == "cpu"
        for split in ("val", "test"):
            assert 0 <= row[f"{split}_accuracy"] <= 1 and 0 <= row[f"{split}_macro_f1"] <= 1
        per_class = [row[f"f1_{c}"] for c in outcome.results.classes]
        assert len(per_class) == 7 and all(0 <= f <= 1 for f in per_class)
        assert sum(per_class) / 7 == pytest.approx(row["test_macro_f1"])
    board = outcome.results.leaderboard()
    assert [r["cell_id"] for r in board] == sorted(OK_CELLS, key=lambda c: -rows[c]["test_macro_f1"])


def test_failing_cells_are_recorded_and_the_grid_goes_on(grid):
    run_dir, outcome, events = grid
    rows = {r["cell_id"]: r for r in outcome.results.rows}
    for cell in FAILED_CELLS:
        assert rows[cell]["status"] == "failed"
        assert (run_dir / "cells" / cell / ERROR_FILE).read_text().count("Traceback") == 1
    assert rows["nan_model__none__s0"]["error"].startswith("TrainingDivergedError: training diverged")
    assert rows["oom_model__weighted__s0"]["error"] == "MemoryError: simulated out of memory"
    assert [r["cell_id"] for r in outcome.incomplete] == FAILED_CELLS
    assert [e.kind for e in events].count("finished") == 6
    report = outcome.report.read_text()
    assert "## Failed or unfinished cells" in report and "simulated out of memory" in report


def test_report_says_plainly_that_the_data_is_synthetic(grid):
    run_dir, _, _ = grid
    report = (run_dir / "report.md").read_text()
    assert SYNTHETIC_WARNING in report
    assert "`demo:synthetic:7cls`" in report and "`pytest grid`" in report
    assert "plots/balancer_comparison.png" in report and "plots/confusion/mycnn_v1__none__s0.png" in report


def test_rerun_skips_finished_cells_and_retries_failed_ones(grid):
    run_dir, _, _ = grid
    finished = {cell: (run_dir / "cells" / cell / RESULT_FILE).read_bytes() for cell in OK_CELLS}
    events = []
    again = _run(_spec(run_dir), events)
    assert again.skipped == OK_CELLS
    assert sorted(again.ran) == sorted(FAILED_CELLS)
    assert [e.job.cell_id for e in events if e.kind == "skipped"] == OK_CELLS
    for cell, content in finished.items():
        assert (run_dir / "cells" / cell / RESULT_FILE).read_bytes() == content, "a finished cell is not retrained"
    run = json.loads((run_dir / "run.json").read_text())
    assert [(i["ran"], i["skipped"]) for i in run["invocations"]] == [(6, 0), (4, 2)]


def test_changed_settings_in_the_same_run_folder_are_refused(grid):
    run_dir, _, _ = grid
    with pytest.raises(UsageError, match=r"2 finished cell\(s\) were made with other settings .*--redo-changed"):
        _run(_spec(run_dir, epochs=2))


def test_report_is_rebuilt_identically_from_saved_results(grid):
    run_dir, _, _ = grid
    names = ("results.csv", "results.json", "report.md")
    before = {name: (run_dir / name).read_bytes() for name in names}
    for name in names:
        (run_dir / name).unlink()
    shutil.rmtree(run_dir / "plots")
    rebuilt = rebuild_report(run_dir)
    assert {name: (run_dir / name).read_bytes() for name in names} == before
    assert (run_dir / "plots" / "per_class_f1.png").is_file() and len(rebuilt.figures["confusion"]) == 2


def test_a_cell_without_result_is_unfinished_and_runs_again(grid, tmp_path):
    run_dir, _, _ = grid
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "cells" / OK_CELLS[1] / RESULT_FILE).unlink()
    assert rebuild_report(copy).results.rows[1]["status"] == "unfinished"
    again = _run(_spec(copy, models=("mycnn_v1",)))
    assert again.ran == [OK_CELLS[1]] and again.skipped == [OK_CELLS[0]]
    assert read_result(copy / "cells" / OK_CELLS[1]).ok


def test_compare_runs_matches_cells(grid, tmp_path):
    run_dir, _, _ = grid
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    result = json.loads((copy / "cells" / OK_CELLS[0] / RESULT_FILE).read_text())
    result["metrics"]["test"]["accuracy"] += 0.25
    (copy / "cells" / OK_CELLS[0] / RESULT_FILE).write_text(json.dumps(result))
    comparison = compare_runs(run_dir, copy)
    cells = {row["cell_id"]: row for row in comparison["cells"]}
    assert comparison["split"] == "test" and set(cells) == set(OK_CELLS + FAILED_CELLS)
    assert cells[OK_CELLS[0]]["accuracy_delta"] == pytest.approx(0.25)
    assert cells[OK_CELLS[1]]["accuracy_delta"] == 0 and cells[OK_CELLS[1]]["speed_ratio"] == 1
    assert cells[FAILED_CELLS[0]]["accuracy_delta"] is None and cells[FAILED_CELLS[0]]["status_b"] == "failed"
