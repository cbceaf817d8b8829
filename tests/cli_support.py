"""Run `fer` the way a user's shell would and capture what it printed: the one helper every CLI test uses.

``run_fer(monkeypatch, capsys, *args)`` runs it in this process (fast; monkeypatches and private registries
apply); ``run_fer_process(*args)`` runs ``python -m fer_core`` in a fresh interpreter (imports, environment
variables, a real exit), or with ``script=True`` the installed ``fer`` console script itself. Both give a
``FerRun`` that unpacks as ``code, out, err``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FER_MODULE = [sys.executable, "-m", "fer_core"]
FER_SCRIPT = Path(sys.executable).with_name("fer")  # the console script pip installed next to this interpreter


@dataclass(frozen=True)
class FerRun:
    code: int
    out: str
    err: str

    def __iter__(self) -> Iterator[Any]:
        return iter((self.code, self.out, self.err))

    # subprocess.CompletedProcess spellings
    @property
    def returncode(self) -> int:
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err


def run_fer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, dataset: Any = None) -> FerRun:
    """``fer ARGS`` through the real entry point (``main`` turns FerErrors into one-line messages and exit codes).

    ``dataset``: a ``Dataset`` every ``load_dataset`` call returns instead of reading ``--data``.
    """
    from fer_core.cli.app import main

    if dataset is not None:
        import fer_core.data.loading

        monkeypatch.setattr(fer_core.data.loading, "load_dataset", lambda spec, **options: dataset)
    monkeypatch.setattr(sys, "argv", ["fer", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return FerRun(code, captured.out, captured.err)


def run_fer_process(
    *args: str, env_extra: Mapping[str, str] | None = None, cwd: Path | str | None = None, timeout: float = 300, script: bool = False
) -> FerRun:
    """``fer ARGS`` in a fresh interpreter; ``env_extra`` is added to this process's environment.

    ``script``: run the installed ``fer`` entry point (what a user's shell runs) instead of ``python -m fer_core``.
    """
    env = {**os.environ, **(env_extra or {})}
    command = [str(FER_SCRIPT)] if script else FER_MODULE
    done = subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    return FerRun(done.returncode, done.stdout, done.stderr)
