"""Errors that mean "the user asked for something wrong": the CLI prints one line and exits."""

from __future__ import annotations


class FerError(Exception):
    """A user-facing error. The CLI prints ``error: <message>`` and exits with ``exit_code``."""

    exit_code = 1


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


class TrainingDivergedError(FerError):
    pass
