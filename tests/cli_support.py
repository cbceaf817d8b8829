"""Run the `fer` console script in this process, the way a user's shell would, and capture what it printed."""

from __future__ import annotations

import sys

import pytest

from fer_core.cli.app import main


def run_fer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``fer ARGS``; ``main`` turns FerErrors into one-line messages and exit codes."""
    monkeypatch.setattr(sys, "argv", ["fer", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
