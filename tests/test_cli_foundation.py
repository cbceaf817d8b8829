import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli_support import run_fer_process as run_fer
from tests.fakedist import make_distribution

FER = [sys.executable, "-m", "fer_core"]


def test_version():
    result = run_fer("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("fer-core ")


def test_list_json_names_distributions():
    result = run_fer("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_name = {(r["kind"], r["name"]): r for r in rows}
    assert by_name[("models", "mycnn_v1")]["distribution"] == "fer-mycnn"
    assert by_name[("models", "mycnn_v1")]["params"] > 0
    assert by_name[("balancers", "weighted")]["distribution"] == "fer-weighted"


def test_broken_plugin_is_listed_and_the_rest_works(tmp_path):
    site = make_distribution(
        tmp_path / "site",
        "fer-broken",
        {"fer.models": {"broken_model": "fer_broken_import:Model"}},
        {"fer_broken_import": "raise ImportError('missing dependency libfoo')\n"},
    )
    env = {"PYTHONPATH": str(site)}
    result = run_fer("list", "models", "--json", env_extra=env)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["broken_model"]["status"] == "broken"
    assert rows["broken_model"]["error"] == "ImportError: missing dependency libfoo"
    assert rows["broken_model"]["distribution"] == "fer-broken"
    assert rows["mycnn_v1"]["status"] == "ok"
    table = run_fer("list", env_extra=env)
    assert table.returncode == 0 and "broken" in table.stdout and "Traceback" not in table.stderr


def test_unknown_kind_is_one_line_exit_2():
    result = run_fer("list", "modles")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown kind 'modles'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_and_help_load_no_plugin_and_no_heavy_library():
    heavy = "{'torch', 'torchvision', 'timm', 'fer_mycnn', 'fer_weighted', 'cv2', 'albumentations', 'sklearn'}"
    probe = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}), file=sys.stderr))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe + "import fer_core"], capture_output=True, text=True)
    assert result.stderr.strip() == "[]"
    result = subprocess.run(
        [sys.executable, "-c", probe + "sys.argv = ['fer', '--help']\nfrom fer_core.cli.app import main\nmain()"],
        capture_output=True,
        text=True,
    )
    assert "Usage" in result.stdout
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_new_plugin_skeleton_is_installable_and_conforms(tmp_path):
    result = run_fer("new-plugin", "tiny_net", "--kind", "model", "--dest", str(tmp_path))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "fer-tiny-net"
    wheel_dir = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir), str(root)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    assert [p.name for p in wheel_dir.iterdir()] == ["fer_tiny_net-0.1.0-py3-none-any.whl"]
    tests = run_plugin_tests(root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "7 passed" in tests.stdout
    again = run_fer("new-plugin", "tiny_net", "--dest", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr


def run_plugin_tests(root: Path) -> subprocess.CompletedProcess:
    """Run a generated plugin's own test suite the way its author would, from its folder."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
    )


def test_new_plugin_balancer_skeleton_conforms(tmp_path):
    assert run_fer("new-plugin", "shuffle", "--kind", "balancer", "--dest", str(tmp_path)).returncode == 0
    root = Path(tmp_path) / "fer-shuffle"
    tests = run_plugin_tests(root)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout


def test_unknown_command_and_option_are_usage_errors_without_traceback():
    for args in (["nosuchcmd"], ["list", "--bogus"]):
        result = run_fer(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr


def test_unknown_model_name_is_one_line_with_close_matches():
    result = run_fer("train", "--model", "mycnn_v7", "--data", "demo")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown model 'mycnn_v7'; did you mean mycnn_v6, mycnn_v5, mycnn_v4?"
