"""Discovers plugins through entry points, lazily and in isolation.

Listing names reads only distribution metadata; a plugin's code is imported
when it is first used. A plugin that fails to import is recorded as broken
with its error and never takes the others down. Names are case-insensitive;
``all`` selects every healthy plugin of a kind and ``*``/``?`` wildcards work
as in timm's ``list_models``.

An entry point whose name ends in ``/*`` is a namespace: the object it loads
is a callable ``resolve(subname) -> plugin class`` (``timm/*`` exposes every
timm architecture as ``timm/<arch>``).
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from fer_core.api import API_VERSION
from fer_core.errors import PluginLoadError, UnknownPluginError

GROUPS: dict[str, str] = {
    "models": "fer.models",
    "balancers": "fer.balancers",
    "augmenters": "fer.augmenters",
    "datasets": "fer.datasets",
    "detectors": "fer.detectors",
}
NAMESPACE_SUFFIX = "/*"
STRICT_ENV = "FER_STRICT_PLUGINS"


@dataclass
class PluginEntry:
    kind: str
    name: str
    target: str
    distribution: str
    version: str
    entry_point: EntryPoint | None = None
    status: str = "unloaded"  # unloaded | ok | broken | duplicate | incompatible
    error: str = ""
    obj: Any = None
    shadows: list[str] = field(default_factory=list)

    @property
    def is_namespace(self) -> bool:
        return self.name.endswith(NAMESPACE_SUFFIX)

    @property
    def healthy(self) -> bool:
        return self.status in ("ok", "unloaded")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Registry:
    """All plugins of all kinds visible in the current environment."""

    def __init__(self, eps: Iterable[EntryPoint] | None = None) -> None:
        self._entries: dict[str, dict[str, PluginEntry]] = {kind: {} for kind in GROUPS}
        group_to_kind = {group: kind for kind, group in GROUPS.items()}
        if eps is None:
            eps = [ep for group in GROUPS.values() for ep in entry_points(group=group)]
        for ep in eps:
            kind = group_to_kind.get(ep.group)
            if kind is not None:
                self._add(kind, ep)

    def _add(self, kind: str, ep: EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        entry = PluginEntry(
            kind=kind,
            name=ep.name,
            target=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else "?",
            version=dist.version if dist is not None else "?",
            entry_point=ep,
        )
        key = ep.name.lower()
        existing = self._entries[kind].get(key)
        if existing is not None:
            if existing.distribution == entry.distribution and existing.target == entry.target:
                return  # the same distribution seen twice on sys.path
            existing.status = "duplicate"
            existing.shadows.append(f"{entry.distribution} ({entry.target})")
            existing.error = "name also registered by " + ", ".join(existing.shadows)
            return
        self._entries[kind][key] = entry

    def add_object(self, kind: str, name: str, obj: Any, distribution: str = "<runtime>") -> PluginEntry:
        """Register an already-imported plugin class (tests, notebooks, third-party checks)."""
        entry = PluginEntry(kind, name, f"{obj.__module__}:{obj.__qualname__}", distribution, "-", status="ok", obj=obj)
        self._entries[kind][name.lower()] = entry
        return entry

    def entries(self, kind: str) -> list[PluginEntry]:
        return sorted(self._entries[_check_kind(kind)].values(), key=lambda e: e.name.lower())

    def names(self, kind: str, *, include_namespaces: bool = False) -> list[str]:
        return [e.name for e in self.entries(kind) if include_namespaces or not e.is_namespace]

    def load(self, kind: str, name: str) -> PluginEntry:
        """Import one plugin. Broken plugins raise ``PluginLoadError`` with a one-line reason."""
        entry = self._find(kind, name)
        self._load_entry(entry)
        if entry.status != "ok":
            raise PluginLoadError(f"{kind[:-1]} plugin '{entry.name}' from {entry.distribution} is {entry.status}: {entry.error}")
        return entry

    def load_all(self, kind: str) -> list[PluginEntry]:
        entries = self.entries(kind)
        for entry in entries:
            self._load_entry(entry)
        return entries

    def get(self, kind: str, name: str) -> Any:
        """The plugin class registered under ``name`` (namespaces resolved)."""
        entry = self._find(kind, name)
        if entry.is_namespace:
            self._load_entry(entry)
            if entry.status != "ok":
                raise PluginLoadError(f"plugin namespace '{entry.name}' is {entry.status}: {entry.error}")
            subname = name[len(entry.name) - 1 :]
            try:
                return entry.obj(subname)
            except KeyError as exc:
                raise UnknownPluginError(str(exc.args[0]) if exc.args else f"unknown {kind[:-1]} '{name}'") from None
        return self.load(kind, name).obj

    def create(self, kind: str, name: str, **options: Any) -> Any:
        """Instantiate a plugin with its options."""
        cls = self.get(kind, name)
        try:
            return cls(**options)
        except TypeError as exc:
            raise UnknownPluginError(f"bad options for {kind[:-1]} '{name}': {exc}") from None

    def select(self, kind: str, patterns: str | Iterable[str]) -> list[str]:
        """Resolve ``all``, wildcards and comma-separated names to canonical names, in order.

        ``all`` and wildcards select healthy plugins only (broken ones are loaded to find out);
        an explicit name is returned even if broken, so the caller records its failure.
        """
        if isinstance(patterns, str):
            patterns = [p for p in patterns.split(",")]
        chosen: list[str] = []
        for raw in patterns:
            pattern = raw.strip()
            if not pattern:
                continue
            if pattern.lower() == "all" or any(ch in pattern for ch in "*?["):
                entries = [e for e in self.load_all(kind) if not e.is_namespace]
                matches = [
                    e.name
                    for e in entries
                    if e.status == "ok" and (pattern.lower() == "all" or fnmatch.fnmatch(e.name.lower(), pattern.lower()))
                ]
                if not matches and pattern.lower() != "all":
                    raise UnknownPluginError(f"no {kind} match '{pattern}'; installed: {', '.join(self.names(kind)) or 'none'}")
                chosen.extend(m for m in matches if m not in chosen)
            else:
                entry = self._find(kind, pattern)
                name = pattern if entry.is_namespace else entry.name
                if name not in chosen:
                    chosen.append(name)
        return chosen

    def _find(self, kind: str, name: str) -> PluginEntry:
        table = self._entries[_check_kind(kind)]
        entry = table.get(name.lower())
        if entry is not None:
            return entry
        for candidate in table.values():
            if candidate.is_namespace and name.lower().startswith(candidate.name[:-1].lower()):
                return candidate
        close = difflib.get_close_matches(name.lower(), list(table), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(table[c].name for c in close)}?" if close else ""
        known = "" if close else f"; installed: {', '.join(self.names(kind)) or 'none'}"
        raise UnknownPluginError(f"unknown {kind[:-1]} '{name}'{hint}{known}")

    def _load_entry(self, entry: PluginEntry) -> None:
        if entry.status != "unloaded" or entry.entry_point is None:
            return
        try:
            obj = entry.entry_point.load()
        except Exception as exc:  # any failure inside third-party code
            if os.environ.get(STRICT_ENV):
                raise
            entry.status, entry.error = "broken", _first_line(exc)
            return
        declared = getattr(obj, "api_version", API_VERSION)
        if declared != API_VERSION:
            entry.status = "incompatible"
            entry.error = f"written for fer plugin API {declared}, this fer-core speaks {API_VERSION}"
            return
        entry.obj, entry.status = obj, "ok"


def _check_kind(kind: str) -> str:
    if kind not in GROUPS:
        raise UnknownPluginError(f"unknown plugin kind '{kind}'; kinds: {', '.join(GROUPS)}")
    return kind


@cache
def get_registry() -> Registry:
    """The process-wide registry of installed plugins."""
    return Registry()


def model_param_count(cls: Callable[..., Any]) -> int | None:
    """Parameters of a model plugin at its defaults (7 classes, 1 channel), built on the meta device."""
    import torch

    plugin = cls()
    with torch.device("meta"):
        module = plugin.build(num_classes=7, in_channels=1, input_size=plugin.default_input_size)
    return sum(p.numel() for p in module.parameters())
