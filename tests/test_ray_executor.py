"""`fer bench --executor ray` on a 2-CPU Ray cluster on loopback: same results as a local run, resuming, dead workers."""

import csv
import json
import sys

import pytest

ray = pytest.importorskip("ray")

import fer_core.data.loading  # noqa: E402
from fer_core.bench.jobs import BenchSpec  # noqa: E402
from fer_core.bench.ray_executor import RayExecutor  # noqa: E402
from fer_core.bench.runner import run_bench  # noqa: E402
from fer_core.cli.app import main  # noqa: E402
from fer_core.data.loading import load_dataset  # noqa: E402
from fer_core.registry import get_registry  # noqa: E402
from tests.bench_support import FAST, tiny_demo  # noqa: E402
from tests.fakedist import make_distribution  # noqa: E402

# Cells that learn (test accuracy 0.4-0.7 against 0.22 for the majority class), so that equal metrics mean equal training.
GRID = ["bench", "--models", "mycnn_v1", "--balancers", "weighted", "--epochs", "4", "--augment", "none", "--lr", "0.003"]
SETTINGS = ["--set", "threads=1", "--set", "patience=0", "--batch-size", "32", "--data", "demo"]
LEARNABLE = {"train": 2100, "val": 140, "test": 140}
CELLS = ["mycnn_v1__none__s0", "mycnn_v1__weighted__s0"]
# Columns that measure this machine's speed at that moment rather than what was learned; the checkpoint's
# size also counts the command line saved in its metadata, which differs by "--executor ray".
NOT_LEARNED = {
    "images_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "train_seconds",
    "wall_seconds",
    "started_at",
    "finished_at",
    "checkpoint_mb",
}


def _measured(column: str) -> bool:
    """A speed column or its spread (``images_per_s_lo``/``_hi``), or another machine-of-the-moment column."""
    return column in NOT_LEARNED or column.removesuffix("_lo").removesuffix("_hi") in NOT_LEARNED


# Models that SIGKILL the worker process that builds them: the first time only, or every time.
CRASHERS = """
import os, signal
from pathlib import Path
from torch import nn
from fer_core.api import ModelPlugin


def _attempt(name):
    marks = Path(os.environ["FER_TEST_ATTEMPTS"])
    with open(marks / name, "a") as handle:
        handle.write("x")
    return (marks / name).stat().st_size


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _tiny(num_classes, in_channels):
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))


class CrashOnce(ModelPlugin):
    def build(self, num_classes, in_channels=1, input_size=48):
        if _attempt("crash_once") == 1:
            _die()
        return _tiny(num_classes, in_channels)


class CrashAlways(ModelPlugin):
    def build(self, num_classes, in_channels=1, input_size=48):
        _attempt("crash_always")
        _die()
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Ray on loopback with 2 CPUs; its workers (and this driver) see the crashing models' distribution."""
    root = tmp_path_factory.mktemp("ray")
    site = make_distribution(
        root / "site",
        "fer-test-crashers",
        {"fer.models": {"crash_once": "fer_test_crashers:CrashOnce", "crash_always": "fer_test_crashers:CrashAlways"}},
        {"fer_test_crashers": CRASHERS},
    )
    attempts = root / "attempts"
    attempts.mkdir()
    sys.path.insert(0, str(site))
    get_registry.cache_clear()
    env = {"PYTHONPATH": str(site), "FER_TEST_ATTEMPTS": str(attempts)}
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield attempts
    ray.shutdown()
    sys.path.remove(str(site))
    get_registry.cache_clear()


def learnable_demo():
    return load_dataset("demo", options=LEARNABLE)


def run_fer(monkeypatch, *args, loads=None):
    """`fer ARGS` through the real entry point, on the tiny demo data (each load appended to ``loads``); the exit code."""

    def load(spec, **options):
        (loads if loads is not None else []).append(spec)
        return learnable_demo()

    monkeypatch.setattr(sys, "argv", ["fer", *args])
    monkeypatch.setattr(fer_core.data.loading, "load_dataset", load)
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def fer(monkeypatch, capsys, *args):
    code = run_fer(monkeypatch, *args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(run_dir):
    with open(run_dir / "results.csv", newline="") as handle:
        return {row["cell_id"]: row for row in csv.DictReader(handle)}


def files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and ".tmp" not in p.name)


@pytest.fixture(scope="module")
def ray_and_local_runs(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("grids")
    with pytest.MonkeyPatch.context() as monkeypatch:
        loads = []
        ray_code = run_fer(monkeypatch, *GRID, *SETTINGS, "--executor", "ray", "--out", str(root / "ray"), loads=loads)
        local_code = run_fer(monkeypatch, *GRID, *SETTINGS, "--out", str(root / "local"))
    assert loads == ["demo"], "the driver loads each data spec once for the whole grid"
    return root / "ray", root / "local", ray_code, local_code


def test_ray_grid_gives_the_same_results_csv_and_layout_as_a_local_run(ray_and_local_runs):
    ray_dir, local_dir, ray_code, local_code = ray_and_local_runs
    assert ray_code == local_code == 0
    ray_rows, local_rows = rows(ray_dir), rows(local_dir)
    assert sorted(ray_rows) == sorted(local_rows) == CELLS
    for cell in CELLS:
        assert ray_rows[cell]["status"] == "ok"
        learned = {k: v for k, v in local_rows[cell].items() if not _measured(k)}
        assert {k: ray_rows[cell][k] for k in learned} == learned, cell
        assert 0 <= float(ray_rows[cell]["test_macro_f1"]) <= 1
    assert list(ray_rows[CELLS[0]]) == list(local_rows[CELLS[0]]), "same columns in the same order"
    assert files(ray_dir) == files(local_dir)


def test_ray_cells_match_local_cells_metric_for_metric(ray_and_local_runs):
    ray_dir, local_dir, _, _ = ray_and_local_runs
    for cell in CELLS:
        on_ray = json.loads((ray_dir / "cells" / cell / "result.json").read_text())
        local = json.loads((local_dir / "cells" / cell / "result.json").read_text())
        assert on_ray["metrics"] == local["metrics"] and on_ray["metrics"]["test"]["confusion"]
        assert on_ray["params"] == local["params"] and on_ray["epochs_run"] == local["epochs_run"] == 4
        assert on_ray["metrics"]["test"]["accuracy"] > 0.3, "the compared cell learned"
        # workers trained on the driver's dataset from the object store; loading "demo" themselves would give 2,800 faces
        assert on_ray["dataset"]["splits"] == LEARNABLE


def test_rerun_on_ray_skips_every_finished_cell_before_submission(ray_and_local_runs, monkeypatch, capsys):
    ray_dir, _, _, _ = ray_and_local_runs
    before = {cell: (ray_dir / "cells" / cell / "result.json").stat().st_mtime_ns for cell in CELLS}
    code, _, err = fer(monkeypatch, capsys, *GRID, *SETTINGS, "--executor", "ray", "--out", str(ray_dir))
    assert code == 0
    assert all(f"skip {cell} (finished earlier)" in err for cell in CELLS)
    assert "0 queued, 0 running, 2 done, 0 failed" in err
    assert {cell: (ray_dir / "cells" / cell / "result.json").stat().st_mtime_ns for cell in CELLS} == before
    run = json.loads((ray_dir / "run.json").read_text())
    assert run["invocations"][-1]["ran"] == 0 and run["invocations"][-1]["skipped"] == 2


def test_dead_workers_are_retried_a_bounded_number_of_times_and_the_rest_finishes(cluster, tmp_path):
    attempts = cluster
    run_dir = tmp_path / "crashy"
    spec = BenchSpec(
        models=("mycnn_v1", "crash_once", "crash_always"),
        balancers=("none",),
        epochs=1,
        augment="none",
        overrides=FAST,
        out=str(run_dir),
    )
    events = []
    outcome = run_bench(spec, RayExecutor(max_retries=1, datasets={"demo": tiny_demo()}), events.append)

    status = {r["cell_id"]: (r["status"], r["error"]) for r in outcome.results.rows}
    assert status["mycnn_v1__none__s0"] == ("ok", "")
    assert status["crash_once__none__s0"] == ("ok", ""), "a worker killed once is retried and the cell finishes"
    assert status["crash_always__none__s0"][0] == "failed"
    assert status["crash_always__none__s0"][1].startswith("gave up after 2 attempt(s): ")
    assert len((attempts / "crash_always").read_text()) == 2, "max_retries=1: one try and one retry, no more"
    starts = [e.job.cell_id for e in events if e.kind == "started"]
    assert starts.count("crash_once__none__s0") == 2 and starts.count("mycnn_v1__none__s0") == 1
    finished = [e.job.cell_id for e in events if e.kind == "finished"]
    assert sorted(finished) == sorted(status), "every cell is reported finished exactly once"
    assert "failed while: run on Ray" in (run_dir / "cells" / "crash_always__none__s0" / "error.txt").read_text()
    for cell in ("mycnn_v1__none__s0", "crash_once__none__s0"):
        assert (run_dir / "cells" / cell / "best.safetensors").is_file(), "nothing finished is lost"
    assert rows(run_dir)["crash_always__none__s0"]["status"] == "failed"


def test_a_cluster_without_gpus_refuses_gpu_cells_in_one_line(cluster, tmp_path, monkeypatch, capsys):
    code, _, err = fer(monkeypatch, capsys, *GRID, *SETTINGS, "--executor", "ray", "--gpus-per-job", "1", "--out", str(tmp_path / "g"))
    assert code == 2
    assert "error: the Ray cluster has 2 CPU(s) and 0 GPU(s) in all, but each cell asks for --cpus-per-job 1 --gpus-per-job 1" in err
