"""Atomic file writes: write a temporary sibling, fsync, then rename over the target.

A write that fails (a file where a folder should be, a read-only place, a full disk) leaves the target as it was,
removes the temporary file and is one ``OutputError`` line naming the target; ``ensure_writable_dir`` checks a folder
before any work is spent on what will go there.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fer_core.errors import FerError, OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; it replaces ``target`` only if the block succeeds."""
    target = Path(target)
    try:
        _make_dirs(target.parent)
    except OSError as exc:
        raise write_error(target, exc) from None
    # The name is chosen before the file exists, so a Ctrl-C at any moment after its creation finds it in ``finally``
    # (with mkstemp, one arriving just as it returned left the file behind).
    tmp_path = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        try:
            _create_new(tmp_path)
        except OSError as exc:
            raise write_error(target, exc) from None
        yield tmp_path
        # The temporary file is made 0600, and writers such as safetensors replace it with one of their own: give the result
        # the permissions any new file gets under the umask (0644 under 022), so other users' workers can read it.
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    except FerError:
        raise
    except Exception as exc:
        reason = io_failure(exc)
        if reason is None:
            raise
        raise write_error(target, exc, reason) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def ensure_writable_dir(folder: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Create ``folder`` (and its parents) if needed and check that a file can be written in it: one ``OutputError``
    line naming ``what`` (e.g. ``--out``) otherwise. Nothing is left behind but the folder."""
    folder = Path(folder)
    probe = folder / f".fer-write-check.{secrets.token_hex(6)}"
    try:
        _make_dirs(folder)
        _create_new(probe)
    except OSError as exc:
        raise OutputError(f"{what} {folder}: cannot write there ({_reason(folder, exc)})") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return folder


def write_error(target: Path, exc: BaseException, reason: str | None = None) -> OutputError:
    """One line for a failed write of ``target``; nothing of it was written (an earlier version stays)."""
    why = reason or (_reason(target.parent, exc) if isinstance(exc, OSError) else str(exc))
    return OutputError(f"cannot write {target}: {why}")


def io_failure(exc: BaseException) -> str | None:
    """The reason, when ``exc`` is a failed file write: an ``OSError``, or a writer library's wrapped one
    (safetensors' "I/O error", torch's stream writer); None for anything else."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    text = (str(exc).strip().splitlines() or [""])[0]
    if "I/O error: " in text:  # safetensors: "Error while serializing: I/O error: No space left on device (os error 28)"
        return text.split("I/O error: ", 1)[1]
    if "failed writing file" in text:  # torch.jit.save: "PytorchStreamWriter failed writing file ..."
        return text
    return None


def _create_new(path: Path) -> None:
    """Create ``path`` empty and private (0600); never opens an existing file."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _make_dirs(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where a folder should be (mkdir's own message says only "File exists")
        raise NotADirectoryError(20, f"{_file_in_the_way(folder)} is a file, not a folder") from None


def _file_in_the_way(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return folder


def _reason(folder: Path, exc: BaseException) -> str:
    if isinstance(exc, NotADirectoryError):
        return f"{_file_in_the_way(folder)} is a file, not a folder"
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__


def write_text(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike[str], data: Any) -> None:
    write_text(target, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    with atomic_path(target) as tmp:
        writer(tmp)


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
