"""One writer per run folder: ``fer bench`` (and ``fer report``) hold ``.fer-bench.lock`` while they write.

Two benches on one folder once cleared a cell the other had just finished (results.csv said ok over an
empty folder). The lock file is created exclusively and names its holder (pid, host, start, command); a
second writer stops with one line naming them. A lock left by a process that no longer exists on this
host is stale and taken over; a lock held from another host is never taken over (its pid means nothing
here): remove the file by hand once that run is really gone.
"""

from __future__ import annotations

import contextlib
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


def acquire(run_dir: Path, command: str | None = None) -> Path:
    """Take the run folder's lock or raise a one-line UsageError naming the holder."""
    path = run_dir / LOCK_FILE
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat(timespec="seconds"), "command": command}
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
        with contextlib.suppress(FileNotFoundError):  # stale: move it aside; of two takers only one rename succeeds
            os.rename(path, path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}"))
            path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}").unlink(missing_ok=True)
    raise UsageError(f"{run_dir}: could not take {LOCK_FILE} (another process keeps rewriting it)")


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
