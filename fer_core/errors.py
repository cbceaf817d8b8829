"""Errors that mean "the user asked for something wrong": the CLI prints one line and exits."""

from __future__ import annotations


class FerError(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` and exits with ``exit_code``.

    The message is made printable on any UTF-8 stream: a file name that is not valid UTF-8 (Python keeps its bytes
    as lone surrogates) is shown with backslash escapes instead of making the error itself crash while printing.
    """

    exit_code = 1

    def __init__(self, *args: object) -> None:
        super().__init__(*(printable(a) if isinstance(a, str) else a for a in args))


_CONTROL = {code: f"\\x{code:02x}" for code in [*range(32), 127]}


def printable(text: str) -> str:
    """``text`` on one printable line: undecodable file-name bytes (``\\udcff``) shown as ``\\xff``, any other lone
    surrogate escaped, and control characters (a newline in a file name) as ``\\x0a``."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.translate(_CONTROL)


class UsageError(FerError):
    exit_code = 2


class UnknownPluginError(UsageError):
    pass


class PluginLoadError(FerError):
    pass


class DataError(FerError):
    pass


class CheckpointError(FerError):
    pass


class OutputError(FerError, OSError):
    """fer cannot write where it was told to (a file in the way, a read-only place, a full disk). Also an ``OSError``,
    so code that tolerates a failed write (the decode cache) still catches it."""


class TrainingDivergedError(FerError):
    pass
