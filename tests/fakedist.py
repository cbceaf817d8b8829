"""Throwaway installed distributions and a private plugin registry for tests.

``make_distribution`` writes a dist-info folder (METADATA, entry_points.txt) and module sources into a
folder, which is what `pip install` leaves behind; a subprocess sees it through ``PYTHONPATH``.
``private_registry`` (the ``plugins`` fixture in conftest.py) puts a registry of the test's own in place of
the process-wide one, so test plugins never leak into other tests and no test has to clear a cache.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

from fer_core.registry import PluginEntry, Registry, use_registry


def make_distribution(site: Path, name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> Path:
    """Write ``<name>.dist-info`` with METADATA and entry_points.txt, plus module sources, into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    return site


class PluginSandbox:
    """A registry of a test's own: the installed plugins (unless ``installed=False``) plus what the test adds."""

    def __init__(self, site: Path, *, installed: bool = True) -> None:
        self.site = site
        self.registry = Registry() if installed else Registry([])
        self._modules: list[str] = []

    @property
    def env(self) -> dict[str, str]:
        """What a `fer` subprocess needs to see the distributions installed here."""
        return {"PYTHONPATH": str(self.site)}

    def add(self, kind: str, name: str, obj: Any, distribution: str = "tests") -> PluginEntry:
        """Register an imported plugin class under ``name``."""
        return self.registry.add_object(kind, name, obj, distribution=distribution)

    def install(self, name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> None:
        """Install distribution ``name`` (its modules importable, its entry points registered), as pip would."""
        make_distribution(self.site, name, entry_points, modules)
        if str(self.site) not in sys.path:
            sys.path.insert(0, str(self.site))
        self._modules += list(modules)
        (dist,) = [d for d in distributions(path=[str(self.site)]) if d.metadata["Name"] == name]
        self.registry.add_entry_points(dist.entry_points)

    def close(self) -> None:
        if str(self.site) in sys.path:
            sys.path.remove(str(self.site))
        for module in self._modules:
            sys.modules.pop(module, None)


@contextmanager
def private_registry(site: Path, *, installed: bool = True) -> Iterator[PluginSandbox]:
    """``get_registry()`` returns the sandbox's registry inside the block; everything is undone after it."""
    sandbox = PluginSandbox(site, installed=installed)
    try:
        with use_registry(sandbox.registry):
            yield sandbox
    finally:
        sandbox.close()
