"""Shared rich consoles: results to stdout, messages and progress to stderr."""

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
