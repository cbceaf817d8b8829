"""Where a run happened: CPU, threads, load, library versions and the source revision, for run.json and benchmark pages."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, rounded to 0.01; None where the system keeps none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def format_load(load: list[float] | None) -> str:
    return ", ".join(f"{x:.2f}" for x in load) if load else "unknown"


def describe_machine(threads: int | None = None) -> str:
    """One line for a benchmark page: CPU, logical CPUs, load average now, torch threads and versions, GPU if any."""
    import torch

    parts = [cpu_model(), f"{os.cpu_count()} logical CPUs", f"load average {format_load(load_average())}"]
    if threads is not None:
        parts.append(f"{threads} torch thread(s)")
    parts.append(f"torch {torch.__version__}, Python {platform.python_version()}")
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    return "; ".join(parts)


def git_revision(cwd: Path | None = None) -> str | None:
    """``<sha>`` or ``<sha>+dirty`` of the fer source tree, None outside a git checkout."""
    where = cwd or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty.stdout.strip() else sha


def describe_environment() -> dict[str, Any]:
    import numpy
    import torch

    from fer_core import __version__

    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "fer_core": __version__,
        "git": git_revision(),
        "cuda": torch.cuda.is_available(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else [],
    }
