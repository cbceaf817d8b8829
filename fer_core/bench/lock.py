"""One writer per run folder: ``fer bench`` (and ``fer report``) hold ``.fer-bench.lock`` while they write, and a
training run holds ``training_lock`` on its folder.

Two benches on one folder once cleared a cell the other had just finished (results.csv said ok over an
empty folder). The lock file is created exclusively and names its holder (pid, host, start, command); a
second writer stops with one line naming them. A lock left by a process that no longer exists on this
host is stale and taken over; a lock held from another host is never taken over (its pid means nothing
here): remove the file by hand once that run is really gone.

``training_lock`` is the kernel's lock (``flock``) on the run folder itself: it goes when its process ends however
it ends (``kill -9``, a Ray worker lost with its node), so a resumed or retried run never finds a stale one. Two
``fer train`` into one ``--out`` once both trained and both said they succeeded; the second now stops in one line
naming the first (``.fer-training`` in the folder says who holds it; it is information, not the lock).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fer_core.errors import UsageError

LOCK_FILE = ".fer-bench.lock"
TRAINING_HOLDER = ".fer-training"
ATTEMPTS = 5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, under another user
        return True
    except OSError:
        return False
    return True


def _holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) and isinstance(data.get("host"), str) else None


def _stale(holder: dict[str, Any] | None, path: Path) -> bool:
    """A lock whose process is gone from this host, or an unreadable one older than a few seconds (a crash mid-write)."""
    if holder is None:
        try:
            return datetime.now().timestamp() - path.stat().st_mtime > 5
        except OSError:
            return False
    return holder["host"] == socket.gethostname() and holder["pid"] != os.getpid() and not _alive(holder["pid"])


def _take(path: Path, me: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(me, handle)
    return True


def _me(command: str | None) -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat(timespec="seconds"), "command": command}


def acquire(run_dir: Path, command: str | None = None) -> Path:
    """Take the run folder's lock or raise a one-line UsageError naming the holder."""
    path = run_dir / LOCK_FILE
    me = _me(command)
    for _ in range(ATTEMPTS):
        if _take(path, me):
            return path
        holder = _holder(path)
        if not _stale(holder, path):
            if holder is None:
                time.sleep(0.2)  # being written this instant: look again
                continue
            raise UsageError(
                f"{run_dir}: in use by another fer process (pid {holder['pid']} on {holder['host']}, since {holder.get('since', '?')}); "
                f"wait for it to finish, or delete {path} if that process is gone"
            )
        _set_aside(path, holder)
    raise UsageError(f"{run_dir}: could not take {LOCK_FILE} (another process keeps rewriting it)")


def _set_aside(path: Path, stale: dict[str, Any] | None) -> None:
    """Move the stale lock away. Another taker may have replaced it with its own live lock since it was judged
    stale: what was moved is checked, and a lock that is not the stale one goes back (unless a new one is there)."""
    aside = path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)  # of two takers only one rename succeeds
    except FileNotFoundError:
        return
    moved = _holder(aside)
    if moved is not None and moved != stale:
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    aside.unlink(missing_ok=True)


def release(path: Path) -> None:
    """Remove the lock if it is still ours."""
    holder = _holder(path)
    if holder is not None and holder["pid"] == os.getpid() and holder["host"] == socket.gethostname():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(run_dir: Path, command: str | None = None) -> Iterator[Path]:
    path = acquire(run_dir, command)
    try:
        yield path
    finally:
        release(path)


@contextlib.contextmanager
def training_lock(run_dir: Path, command: str | None = None) -> Iterator[None]:
    """Hold the run folder while a training run writes it; a second one stops with one line naming this one.

    The lock is ``flock`` on the folder (released by the kernel when the process ends, even by ``kill -9``). Where
    the filesystem has no such locks, the run goes ahead unlocked, as before. Not reentrant: one ``train`` per folder.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir, os.O_RDONLY)
    info = run_dir / TRAINING_HOLDER
    try:
        locked = _flock(fd)
        if locked is False:
            raise UsageError(_in_use(run_dir, _holder(info)))
        if locked:
            with contextlib.suppress(OSError):
                info.write_text(json.dumps(_me(command)), encoding="utf-8")
        try:
            yield
        finally:
            if locked:
                with contextlib.suppress(OSError):
                    info.unlink()
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _flock(fd: int) -> bool | None:
    """True: taken; False: another process holds it; None: this filesystem has no flock."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        return None
    return True


def _in_use(run_dir: Path, holder: dict[str, Any] | None) -> str:
    who = f"pid {holder['pid']} on {holder['host']}, since {holder.get('since', '?')}" if holder else "its holder did not say who it is"
    return f"{run_dir}: another fer process is training into this folder ({who}); wait for it to finish, or choose another --out"
