"""`fer bench`, `fer report` and `fer compare` through the real entry point: messages and exit codes."""

import csv
import json

import pytest

import fer_core.data.loading
from fer_core.registry import get_registry
from tests.bench_support import tiny_demo
from tests.cli_support import run_fer as fer
from tests.fakedist import make_distribution

BENCH = ["bench", "--models", "mycnn_v1,broken_net", "--balancers", "weighted", "--no-baseline", "--epochs", "1", "--augment", "none"]
FAST = ["--set", "threads=1", "--batch-size", "32"]


@pytest.fixture
def broken_plugin_installed(tmp_path, monkeypatch):
    """A model plugin whose module fails to import, visible to the process-wide registry."""
    site = make_distribution(
        tmp_path / "site",
        "fer-broken-net",
        {"fer.models": {"broken_net": "fer_broken_net_mod:Model"}},
        {"fer_broken_net_mod": "raise ImportError('needs a library that is not installed')\n"},
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(fer_core.data.loading, "load_dataset", lambda spec, **kw: tiny_demo())
    get_registry.cache_clear()
    yield
    get_registry.cache_clear()


def _rows(run_dir):
    with open(run_dir / "results.csv", newline="") as handle:
        return {row["cell_id"]: row for row in csv.DictReader(handle)}


def test_broken_plugin_is_a_failed_row_and_the_exit_code_says_so(broken_plugin_installed, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    code, out, err = fer(monkeypatch, capsys, *BENCH, *FAST, "--out", str(run_dir))
    assert code == 1
    assert "error: grid incomplete: 1 of 2 cells failed or unfinished (broken_net__weighted__s0)" in err
    assert f"report: {run_dir / 'report.md'}" in err
    assert "mycnn_v1" in out and "leaderboard on SYNTHETIC data" in out and "test split" in out
    rows = _rows(run_dir)
    assert rows["mycnn_v1__weighted__s0"]["status"] == "ok" and float(rows["mycnn_v1__weighted__s0"]["val_macro_f1"]) >= 0
    broken = rows["broken_net__weighted__s0"]
    assert broken["status"] == "failed" and broken["distribution"] == "fer-broken-net"
    assert "needs a library that is not installed" in broken["error"]

    # the same command again: the finished cell is skipped, the broken one is retried and fails again
    code, _, err = fer(monkeypatch, capsys, *BENCH, *FAST, "--out", str(run_dir))
    assert code == 1 and "skip mycnn_v1__weighted__s0" in err

    # --resume takes the settings from run.json, and refuses new ones
    code, _, err = fer(monkeypatch, capsys, "bench", "--resume", str(run_dir), "--quiet")
    assert code == 1 and "grid incomplete" in err
    code, _, err = fer(monkeypatch, capsys, "bench", "--resume", str(run_dir), "--epochs", "3")
    assert code == 2 and "drop --epochs" in err

    # fer report rebuilds the same table; fer compare prints per-cell differences
    before = (run_dir / "results.csv").read_text()
    (run_dir / "results.csv").unlink()
    code, out, _ = fer(monkeypatch, capsys, "report", str(run_dir))
    assert code == 0 and (run_dir / "results.csv").read_text() == before and "mycnn_v1" in out
    code, out, _ = fer(monkeypatch, capsys, "compare", str(run_dir), str(run_dir), "--json")
    cells = {row["cell_id"]: row for row in json.loads(out)["cells"]}
    assert code == 0 and cells["mycnn_v1__weighted__s0"]["macro_f1_delta"] == 0
    assert cells["broken_net__weighted__s0"]["status_a"] == "failed"
    code, out, _ = fer(monkeypatch, capsys, "compare", str(run_dir), str(run_dir))
    assert code == 0 and "Δ F1" in out and "+0.000" in out and "failed" in out


def test_json_output_of_a_complete_grid(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fer_core.data.loading, "load_dataset", lambda spec, **kw: tiny_demo())
    run_dir = tmp_path / "run"
    args = ["bench", "-m", "mycnn_v1", "-b", "none", "--epochs", "1", "--augment", "none", *FAST, "--out", str(run_dir), "--json"]
    code, out, _ = fer(monkeypatch, capsys, *args)
    data = json.loads(out)
    assert code == 0
    assert data["ran"] == ["mycnn_v1__none__s0"] and data["incomplete"] == []
    assert data["rows"][0]["status"] == "ok" and data["dataset"]["synthetic"] is True
    code, out, _ = fer(monkeypatch, capsys, *args)
    assert code == 0 and json.loads(out)["skipped"] == ["mycnn_v1__none__s0"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "--models", "mycnn_v11"], "unknown model 'mycnn_v11'; did you mean mycnn_v1"),
        (["bench", "--models", "mycnn_v1", "--balancers", "smoote"], "unknown balancer 'smoote'; did you mean smote"),
        (["bench", "--models", "mycnn_v1", "--seeds", "0,a"], "--seeds takes comma-separated integers"),
        (["bench", "--models", "mycnn_v1", "--set", "epoch=3"], "unknown training setting(s) epoch"),
        (["bench", "--models", "mycnn_v1", "--set", "patience"], "--set expects KEY=VALUE"),
        (["bench", "--models", "mycnn_v1", "--folds", "1"], "--folds takes a number of folds K >= 2"),
        (["bench", "--models", "mycnn_v1", "--folds", "x"], "--folds takes a number of folds K >= 2"),
        (["bench", "--models", "mycnn_v1", "--set", "fold=1/2"], "the grid sets fold per cell"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    code, _, err = fer(monkeypatch, capsys, *args, "--out", str(tmp_path / "never"))
    assert code == 2
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "never").exists()


def test_report_and_compare_need_run_folders(tmp_path, monkeypatch, capsys):
    code, _, err = fer(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and err.strip() == f"error: {tmp_path}: not a fer bench run folder (no run.json)"
    code, _, err = fer(monkeypatch, capsys, "compare", str(tmp_path), str(tmp_path))
    assert code == 2 and "not a fer bench run folder" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weight-decay", "nan"], "error: fer bench: option '--weight-decay' expects a finite number, got 'nan'"),
        (["--input-size", "100000"], "error: input size must be <= 512, got 100000"),
        (["--epochs", "0"], "error: epochs must be >= 1, got 0"),
        (["--set", "lr=abc"], "error: --set: option 'lr' expects a finite number, got 'abc'"),
        (["--executor", "local", "--cpus-per-job", "2"], "error: --cpus-per-job: only with --executor ray"),
    ],
)
def test_wrong_values_of_the_right_type_are_one_line(args, message, tmp_path, monkeypatch, capsys):
    code, _, err = fer(monkeypatch, capsys, "bench", "--models", "mycnn_v1", *args, "--out", str(tmp_path / "never"))
    assert code == 2 and err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "never").exists()


def test_ctrl_c_names_the_run_folder_and_the_command_that_resumes_it(tmp_path, monkeypatch, capsys):
    import fer_core.bench.executors

    monkeypatch.setattr(fer_core.data.loading, "load_dataset", lambda spec, **kw: tiny_demo())
    run_dir = tmp_path / "run"
    args = ["bench", "-m", "mycnn_v1", "-b", "none", "--epochs", "1", "--augment", "none", *FAST, "--out", str(run_dir)]
    with monkeypatch.context() as patch:
        patch.setattr(fer_core.bench.executors, "run_job", lambda *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt))
        code, _, err = fer(monkeypatch, capsys, *args)
    assert code == 130
    assert f"run folder: {run_dir}\n" in err and "interrupted" in err
    resume = err.split("continue it with: ")[1].splitlines()[0]
    assert resume == f"fer bench --resume {run_dir}"
    code, _, err = fer(monkeypatch, capsys, *resume.split()[1:], "--quiet")
    assert code == 0, err
    assert _rows(run_dir)["mycnn_v1__none__s0"]["status"] == "ok"


def test_ctrl_c_before_the_run_folder_exists_repeats_the_command_into_that_folder(monkeypatch, capsys, tmp_path):
    import fer_core.bench.runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fer_core.bench.runner, "plan_jobs", lambda *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt))
    code, _, err = fer(monkeypatch, capsys, "bench", "-m", "mycnn_v1", "--executor", "local", "--epochs", "2")
    folder = err.split("run folder: ")[1].splitlines()[0]
    assert code == 130 and folder.startswith("runs/") and folder.endswith("-bench")
    assert f"continue it with: fer bench -m mycnn_v1 --executor local --epochs 2 --out {folder}\n" in err
