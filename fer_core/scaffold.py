"""`fer new-plugin`: write an installable plugin skeleton that passes the conformance suite unchanged."""

from __future__ import annotations

import re
from pathlib import Path

from fer_core.errors import UsageError

PYPROJECT = """[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{title} for fer"
requires-python = ">=3.11"
dependencies = ["fer-core>=0.1,<0.2"]

[project.entry-points."{group}"]
{name} = "{package}:{cls}"

[tool.setuptools.packages.find]
include = ["{package}*"]
"""

MODEL_CODE = """from __future__ import annotations

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError


class {cls}(ModelPlugin):
    description = "{title}: describe your architecture in one line."
    default_input_size = 48

    # Options are this signature: `--model-opt width=64` arrives as width=64 (an int, typed by the annotation);
    # an unknown or malformed option is a one-line error before anything is built.
    def __init__(self, width: int = 32) -> None:
        if width < 1:
            raise UsageError(f"{name}: width must be positive, got {{width}}")
        super().__init__(width=width)  # recorded in checkpoints as the model's options
        self.width = width

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        w = self.width
        return nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(2 * w, num_classes),
        )
"""

BALANCER_CODE = """from __future__ import annotations

import numpy as np

from fer_core.api import Balanced, Balancer, TrainSet


class {cls}(Balancer):
    description = "{title}: describe your balancing method in one line."
    # "resampled" (images/labels changed), "sample_weights" (a weighted sampler) or "class_weights" (a weighted loss)
    provides = frozenset({{"resampled"}})

    # No __init__: it takes no options (any --balancer-opt is refused). To take some, write
    # `def __init__(self, strength: float = 1.0) -> None: super().__init__(strength=strength)`.

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(train.labels))
        return Balanced(images=train.images[order], labels=train.labels[order], report={{"method": "{name}"}})
"""

TEST_CODE = """from fer_core.testing import parametrize_with_checks

from {package} import {cls}


@parametrize_with_checks({kind}=[{cls}])
def test_conformance(plugin, check):
    check(plugin)
"""

README = """# {dist}

A fer {kind_single} plugin. Install it next to fer-core and it appears in `fer list`:

    pip install -e .
    fer list {kind}
    pytest tests   # the fer conformance suite

Its options are the keyword parameters of its `__init__`, typed by their annotations; fer refuses any other
option in one line. The test module is named after the plugin, so several plugins' tests run in one pytest run.
"""

KINDS = {"model": ("models", "fer.models", MODEL_CODE), "balancer": ("balancers", "fer.balancers", BALANCER_CODE)}


def new_plugin(name: str, kind: str, dest: Path) -> Path:
    if kind not in KINDS:
        raise UsageError(f"unknown plugin kind '{kind}'; choose from {', '.join(KINDS)}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UsageError(f"plugin name '{name}' must be lower-case letters, digits and underscores, starting with a letter")
    kinds, group, code = KINDS[kind]
    dist = "fer-" + name.replace("_", "-")
    package = "fer_" + name
    cls = "".join(part.capitalize() for part in name.split("_")) + ("Model" if kind == "model" else "Balancer")
    root = dest / dist
    if root.exists():
        raise UsageError(f"{root} already exists")
    fields = {
        "dist": dist,
        "package": package,
        "cls": cls,
        "name": name,
        "group": group,
        "kind": kinds,
        "kind_single": kind,
        "title": name.replace("_", " ").title(),
    }
    (root / package).mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT.format(**fields))
    (root / package / "__init__.py").write_text(code.format(**fields))
    # Named after the plugin (and no tests/__init__.py): several skeletons' tests can run in one pytest session.
    (root / "tests" / f"test_{name}_conformance.py").write_text(TEST_CODE.format(**fields))
    (root / "README.md").write_text(README.format(**fields))
    return root
