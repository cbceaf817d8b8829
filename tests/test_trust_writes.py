"""Writes that cannot happen (a file where a folder should be, a read-only place, a full disk) are one error line,
leave no temporary file and keep what was there (issue 18: unwritable or full --out, --annotate and export targets)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from fer_core import atomic
from fer_core.errors import FerError, OutputError
from tests.cli_support import run_fer


def _blocked(tmp_path: Path) -> Path:
    """A path whose parent is a regular file."""
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "sub" / "out.json"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


def test_a_file_in_the_way_is_one_output_error_naming_it(tmp_path):
    target = _blocked(tmp_path)
    with pytest.raises(OutputError) as caught:
        atomic.write_json(target, {"a": 1})
    message = str(caught.value)
    assert message == f"cannot write {target}: {tmp_path / 'afile'} is a file, not a folder"
    assert "\n" not in message


def test_an_output_error_is_a_fer_error_and_an_os_error():
    """The CLI prints it as one line; code that tolerates a failed write (the decode cache) still catches it."""
    assert issubclass(OutputError, FerError) and issubclass(OutputError, OSError)


def test_a_full_disk_keeps_the_previous_version_and_no_temporary_file(tmp_path):
    target = tmp_path / "best.json"
    atomic.write_text(target, "old")

    def full(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write .*best.json: No space left on device"):
        atomic.write_with(target, full)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_a_writer_librarys_wrapped_io_error_is_one_line(tmp_path):
    """safetensors reports a full disk as its own exception type, not as an OSError."""

    class SafetensorError(Exception):
        pass

    def full(tmp: Path) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    with pytest.raises(OutputError) as caught:
        atomic.write_with(tmp_path / "w.safetensors", full)
    assert str(caught.value).endswith("w.safetensors: No space left on device (os error 28)")
    assert _leftovers(tmp_path) == []


def test_other_writer_errors_are_not_disguised_as_write_failures(tmp_path):
    def broken(tmp: Path) -> None:
        raise ValueError("not serialisable")

    with pytest.raises(ValueError, match="not serialisable"):
        atomic.write_with(tmp_path / "x.json", broken)
    assert _leftovers(tmp_path) == []


def test_ensure_writable_dir_creates_the_folder_and_leaves_nothing_else(tmp_path):
    folder = atomic.ensure_writable_dir(tmp_path / "a" / "b", "--out")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_ensure_writable_dir_names_what_it_was_given_for(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError) as caught:
        atomic.ensure_writable_dir(tmp_path / "afile" / "run", "--out")
    assert str(caught.value) == f"--out {tmp_path / 'afile' / 'run'}: cannot write there ({tmp_path / 'afile'} is a file, not a folder)"


def test_ensure_writable_dir_refuses_a_read_only_folder(tmp_path, monkeypatch):
    """(root ignores permission bits, so the refusal of the probe file is simulated.)"""

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic, "_create_new", refuse)
    with pytest.raises(OutputError, match=r"run folder .*: cannot write there \(Permission denied\)"):
        atomic.ensure_writable_dir(tmp_path / "ro", "run folder")


def test_fer_train_refuses_an_unwritable_out_before_it_balances_or_trains(tmp_path, monkeypatch, capsys):
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "run"
    args = ["train", "--model", "mycnn_v1", "--data", "demo", "--data-opt", "train=70", "--data-opt", "val=14"]
    code, _, err = run_fer(monkeypatch, capsys, *args, "--data-opt", "test=0", "--epochs", "1", "--threads", "1", "--out", str(out))
    assert code == 1
    assert err.strip().splitlines() == [f"error: run folder {out}: cannot write there ({tmp_path / 'afile'} is a file, not a folder)"]
    assert "Traceback" not in err


def test_a_ctrl_c_at_any_moment_of_a_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The interrupt may come as the temporary file is created, while it is written, or while it is renamed."""
    target = tmp_path / "history.json"
    atomic.write_text(target, "old")
    real_create, real_replace = atomic._create_new, atomic.os.replace

    def interrupted_create(path):
        real_create(path)
        raise KeyboardInterrupt

    def interrupted_writer(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt

    for moment in ("create", "write", "replace"):
        with monkeypatch.context() as patch:
            if moment == "create":
                patch.setattr(atomic, "_create_new", interrupted_create)
            if moment == "replace":
                patch.setattr(atomic.os, "replace", interrupted_replace)
            with pytest.raises(KeyboardInterrupt):
                atomic.write_with(target, interrupted_writer if moment == "write" else lambda tmp: tmp.write_text("new"))
        assert target.read_text() == "old", moment
        assert _leftovers(tmp_path) == [], moment
    assert real_replace is atomic.os.replace
