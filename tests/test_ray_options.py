"""`fer bench --executor ...` choices and errors that need no Ray cluster (most need no Ray at all)."""

import subprocess
import sys

import pytest

from tests.cli_support import run_fer

GRID = ["bench", "--models", "mycnn_v1", "--balancers", "weighted", "--epochs", "1"]


def fer(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    code, _, err = run_fer(monkeypatch, capsys, *args)
    return code, err


def test_without_ray_installed_the_ray_executor_names_the_install_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    code, err = fer(monkeypatch, capsys, *GRID, "--executor", "ray", "--out", str(tmp_path / "run"))
    assert code == 1
    assert err.strip() == "error: --executor ray needs Ray, which is not installed; install it with: pip install 'fer-core[ray]'"
    assert not (tmp_path / "run").exists(), "nothing is written before the executor is known to work"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--address", "auto"], "error: --address: only with --executor ray"),
        (["--gpus-per-job", "1", "--max-retries", "3"], "error: --gpus-per-job, --max-retries: only with --executor ray"),
        (["--executor", "spark"], "error: --executor must be one of local, ray, not 'spark'"),
        (["--executor", "ray", "--cpus-per-job", "0"], "error: --cpus-per-job must be >= 1, got 0"),
        (["--executor", "ray", "--gpus-per-job", "-1"], "error: --gpus-per-job must be >= 0, got -1.0"),
        (["--executor", "ray", "--max-retries", "-2"], "error: --max-retries must be >= 0, got -2"),
    ],
)
def test_bad_executor_options_are_one_line_usage_errors(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.setitem(sys.modules, "ray", None)  # the checks come before Ray is needed
    code, err = fer(monkeypatch, capsys, *GRID, *args, "--out", str(tmp_path / "run"))
    assert (code, err.strip()) == (2, message)
    assert not (tmp_path / "run").exists()


REFUSED = "ConnectionError: Could not find any running Ray instance."
TOKEN_HINT = " (a cluster with token authentication also needs RAY_AUTH_MODE=token and its token, see docs/ray.md)"


@pytest.mark.parametrize(
    ("address", "hint"),
    [("auto", ""), ("ray://head.example:10001", TOKEN_HINT), ("head.example:6379", TOKEN_HINT)],
)
def test_an_unreachable_cluster_is_a_one_line_error(monkeypatch, capsys, tmp_path, address, hint):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process, so the executor would use it")

    def refuse(*args, **kwargs):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    code, err = fer(
        monkeypatch, capsys, *GRID, "--set", "threads=1", "--executor", "ray", "--address", address, "--out", str(tmp_path / "r")
    )
    assert code == 1
    assert err.strip().splitlines()[-1] == f"error: cannot start or reach a Ray cluster at {address}: {REFUSED}{hint}"


def test_fer_bench_help_lists_the_executor_options_without_importing_ray():
    code = (
        "import sys\n"
        "from fer_core.cli.app import main\n"
        "sys.argv = ['fer', 'bench', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('RAY IMPORTED' if 'ray' in sys.modules else 'RAY NOT IMPORTED')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""})
    assert done.returncode == 0, done.stderr
    for option in ("--executor", "--address", "--cpus-per-job", "--gpus-per-job", "--max-retries"):
        assert option in done.stdout
    assert done.stdout.strip().endswith("RAY NOT IMPORTED")


@pytest.mark.parametrize(("ray_address", "expected"), [(None, "local"), ("head.example:6379", "head.example:6379")])
def test_without_address_ray_starts_a_local_cluster_unless_ray_address_is_set(monkeypatch, capsys, tmp_path, ray_address, expected):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("Ray is already initialised in this process, so the executor would use it")
    calls = []

    def record(*args, **kwargs):
        calls.append(kwargs)
        raise ConnectionError("stop here")

    monkeypatch.setattr(ray, "init", record)
    if ray_address is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", ray_address)
    code, err = fer(monkeypatch, capsys, *GRID, "--executor", "ray", "--out", str(tmp_path / "r"))
    assert code == 1 and f"cannot start or reach a Ray cluster at {expected}: ConnectionError: stop here" in err
    assert [call["address"] for call in calls] == [expected]
    assert calls[0].get("include_dashboard") is (False if expected == "local" else None)
