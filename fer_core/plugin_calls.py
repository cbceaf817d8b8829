"""Calling third-party plugin code so that its ``sys.exit()`` or ``KeyboardInterrupt`` cannot end fer.

``guarded(what)`` turns a ``SystemExit`` raised by the code inside it, or a ``KeyboardInterrupt`` that the
user's Ctrl-C did not cause, into a one-line ``PluginLoadError`` naming ``what``. A real Ctrl-C (a SIGINT
that arrived while the code ran) stays a ``KeyboardInterrupt``, so interrupting fer still works. The
registry uses it around importing and creating a plugin, and ``ModelPlugin`` around every ``build``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fer_core.errors import PluginLoadError


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Run plugin code; ``what`` (e.g. ``"model plugin 'x': build()"``) starts the error line."""
    pressed = [False]
    previous: Any = None
    watching = threading.current_thread() is threading.main_thread()
    if watching:
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: Any) -> None:
            pressed[0] = True
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main interpreter
            watching = False
    try:
        yield
    except SystemExit as exc:
        code = "" if exc.code is None else repr(exc.code)
        raise PluginLoadError(f"{what} called sys.exit({code})") from None
    except KeyboardInterrupt:
        if pressed[0]:
            raise
        raise PluginLoadError(f"{what} raised KeyboardInterrupt (not a Ctrl-C)") from None
    finally:
        if watching:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
