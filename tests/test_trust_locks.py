"""One writer per run folder (issue 18 item 2, and two `fer train` into one --out): the bench lock file and the
training lock, including the moments where a second process would slip in."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fer_core.bench import lock
from fer_core.errors import UsageError


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def _write_lock(run_dir: Path, pid: int, host: str | None = None, since: str = "2026-01-01T00:00:00+00:00") -> Path:
    path = run_dir / lock.LOCK_FILE
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "since": since, "command": "fer bench"}))
    return path


def test_the_bench_lock_names_a_live_holder_in_one_line(tmp_path):
    _write_lock(tmp_path, os.getppid())
    with pytest.raises(UsageError) as caught:
        lock.acquire(tmp_path, "fer bench")
    message = str(caught.value)
    assert f"pid {os.getppid()} on {socket.gethostname()}" in message and "\n" not in message


def test_a_lock_of_a_process_gone_from_this_host_is_taken_over(tmp_path):
    _write_lock(tmp_path, _dead_pid())
    with lock.run_lock(tmp_path, "fer bench") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_lock_from_another_host_is_never_taken_over(tmp_path):
    path = _write_lock(tmp_path, _dead_pid(), host="some-other-node")
    with pytest.raises(UsageError, match="on some-other-node"):
        lock.acquire(tmp_path)
    assert json.loads(path.read_text())["host"] == "some-other-node"


def test_a_live_lock_that_replaced_the_stale_one_meanwhile_is_not_thrown_away(tmp_path, monkeypatch):
    """B judges the lock stale; before B moves it aside, A has taken it over and written its own live lock.
    B must not delete A's lock and proceed: two writers would each think they hold the folder."""
    path = _write_lock(tmp_path, _dead_pid())
    live = {"pid": os.getppid(), "host": socket.gethostname(), "since": "now", "command": "fer bench (A)"}
    real_rename = os.rename
    replaced = []

    def rename_after_a_took_it(src, dst):
        if not replaced:
            replaced.append(True)
            Path(src).write_text(json.dumps(live))  # A's takeover lands between B's look and B's rename
        return real_rename(src, dst)

    monkeypatch.setattr(lock.os, "rename", rename_after_a_took_it)
    with pytest.raises(UsageError, match=rf"pid {os.getppid()} "):
        lock.acquire(tmp_path, "fer bench (B)")
    assert json.loads(path.read_text()) == live
    assert [p.name for p in tmp_path.iterdir()] == [lock.LOCK_FILE]


def test_release_leaves_someone_elses_lock_alone(tmp_path):
    path = _write_lock(tmp_path, os.getppid())
    lock.release(path)
    assert path.exists()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fer_core.bench.lock import training_lock
    with training_lock(Path(sys.argv[1]), "fer train (holder)"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def _hold_in_another_process(run_dir: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_training_run_into_a_held_folder_stops_naming_the_first(tmp_path):
    holder = _hold_in_another_process(tmp_path)
    try:
        with pytest.raises(UsageError) as caught, lock.training_lock(tmp_path, "fer train (second)"):
            pytest.fail("the second run got the folder")
        message = str(caught.value)
        assert f"pid {holder.pid} on {socket.gethostname()}" in message
        assert "another fer process is training into this folder" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()


def test_the_training_lock_goes_with_a_killed_holder(tmp_path):
    """kill -9 leaves no stale lock: the kernel releases it, so --resume works at once."""
    holder = _hold_in_another_process(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    time.sleep(0.05)
    with lock.training_lock(tmp_path, "fer train --resume"):
        assert json.loads((tmp_path / lock.TRAINING_HOLDER).read_text())["pid"] == os.getpid()
    assert not (tmp_path / lock.TRAINING_HOLDER).exists()


def test_the_training_lock_is_released_after_an_error_and_can_be_taken_again(tmp_path):
    with pytest.raises(RuntimeError), lock.training_lock(tmp_path):
        raise RuntimeError("training failed")
    with lock.training_lock(tmp_path):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_filesystem_without_flock_trains_unlocked_as_before(tmp_path, monkeypatch):
    import fcntl

    def unsupported(fd, operation):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    with lock.training_lock(tmp_path):
        assert not (tmp_path / lock.TRAINING_HOLDER).exists()
