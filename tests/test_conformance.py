"""Every installed model and balancer plugin against the shared contract; the contract's own checks; skeletons."""

import os
import subprocess
import sys
from typing import Any

import pytest

from fer_core.api import Balanced, Balancer
from fer_core.scaffold import new_plugin
from fer_core.testing import parametrize_with_checks
from fer_core.testing.checks import check_refuses_unknown_option


@parametrize_with_checks()
def test_plugin_conformance(plugin, check):
    check(plugin)


class _AcceptsAnything(Balancer):
    description = "reads self.options itself and declares nothing"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)

    def balance(self, train, *, seed=0):
        return Balanced(train.images, train.labels)


def test_the_unknown_option_check_catches_a_plugin_that_accepts_anything():
    with pytest.raises(AssertionError, match="accepted silently"):
        check_refuses_unknown_option(_AcceptsAnything)


def test_two_skeletons_are_tested_in_one_pytest_run(tmp_path):
    roots = [
        new_plugin("first_net", "model", tmp_path),
        new_plugin("second_net", "model", tmp_path),
        new_plugin("mix", "balancer", tmp_path),
    ]
    assert sorted(p.name for p in (tmp_path / "fer-first-net" / "tests").iterdir()) == ["test_first_net_conformance.py"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(r) for r in roots)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(r / "tests") for r in roots)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "19 passed" in done.stdout  # 7 model checks twice, 5 balancer checks


def test_a_skeleton_model_types_its_options_and_refuses_unknown_ones(tmp_path, monkeypatch):
    from fer_core.errors import UsageError

    root = new_plugin("opt_net", "model", tmp_path)
    monkeypatch.syspath_prepend(str(root))
    from fer_opt_net import OptNetModel

    assert OptNetModel(width="8").width == 8
    with pytest.raises(UsageError, match=r"OptNetModel: unknown option 'widht'; valid: width \(did you mean 'width'\?\)"):
        OptNetModel(widht="8")
    with pytest.raises(UsageError, match="option 'width' expects an integer, got 'wide'"):
        OptNetModel(width="wide")
