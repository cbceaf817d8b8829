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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from fer_core.api import API_VERSION, Augmenter, Balancer, DatasetSource, Detector, ModelPlugin, Plugin
from fer_core.errors import PluginLoadError, UnknownPluginError, UsageError
from fer_core.plugin_calls import guarded

GROUPS: dict[str, str] = {
    "models": "fer.models",
    "balancers": "fer.balancers",
    "augmenters": "fer.augmenters",
    "datasets": "fer.datasets",
    "detectors": "fer.detectors",
    "weights": "fer.weights",  # named trained checkpoints: a class whose ``path`` is a local .safetensors file
}
# What an entry of each kind must be a subclass of; a kind not named here is not checked.
KIND_BASES: dict[str, type] = {
    "models": ModelPlugin,
    "balancers": Balancer,
    "augmenters": Augmenter,
    "datasets": DatasetSource,
    "detectors": Detector,
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

    @property
    def origin(self) -> str:
        return f"{self.distribution} ({self.target})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _singular(kind: str) -> str:
    return kind[:-1] if kind.endswith("s") else kind


def kind_problem(kind: str, obj: Any, *, namespace: bool = False) -> str:
    """Why ``obj`` cannot be a plugin of ``kind`` (empty when it can)."""
    if namespace:
        return "" if callable(obj) else f"a namespace entry must load a callable resolve(name), got {type(obj).__name__}"
    base = KIND_BASES.get(kind)
    if base is None:
        return ""
    if not isinstance(obj, type):
        return f"not a class but {type(obj).__name__} (a {_singular(kind)} plugin is a class)"
    if issubclass(obj, base):
        return ""
    other = next((k for k, b in KIND_BASES.items() if issubclass(obj, b)), None)
    what = f"a {_singular(other)} plugin ({KIND_BASES[other].__name__})" if other else "a class that is no fer plugin"
    return f"{obj.__qualname__} is {what}, not a fer_core.api.{base.__name__} subclass"


class Registry:
    """All plugins of all kinds visible in the current environment.

    Several distributions may register one name: each is listed; the name resolves to the one that loads
    and is healthy, and is a ``duplicate`` error (naming every distribution) when more than one is.
    """

    def __init__(self, eps: Iterable[EntryPoint] | None = None) -> None:
        self._entries: dict[str, dict[str, list[PluginEntry]]] = {kind: {} for kind in GROUPS}
        if eps is None:
            eps = [ep for group in GROUPS.values() for ep in entry_points(group=group)]
        self.add_entry_points(eps)

    def add_entry_points(self, eps: Iterable[EntryPoint]) -> None:
        """Register entry points (of any fer group; others are ignored), e.g. a distribution installed after start-up."""
        group_to_kind = {group: kind for kind, group in GROUPS.items()}
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
        same_name = self._entries[kind].setdefault(ep.name.lower(), [])
        if any(e.distribution == entry.distribution and e.target == entry.target for e in same_name):
            return  # the same distribution seen twice on sys.path
        for other in same_name:
            other.shadows.append(entry.origin)
            entry.shadows.append(other.origin)
        same_name.append(entry)

    def add_object(self, kind: str, name: str, obj: Any, distribution: str = "<runtime>") -> PluginEntry:
        """Register an already-imported plugin class (tests, notebooks, third-party checks) in place of ``name``."""
        target = f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__name__)}"
        entry = PluginEntry(kind, name, target, distribution, "-", status="ok", obj=obj)
        problem = kind_problem(_check_kind(kind), obj, namespace=entry.is_namespace)
        if problem:
            entry.status, entry.error, entry.obj = "broken", problem, None
        self._entries[kind][name.lower()] = [entry]
        return entry

    def entries(self, kind: str) -> list[PluginEntry]:
        """Every registered entry of ``kind`` (one per distribution for a name several register), by name."""
        table = self._entries[_check_kind(kind)]
        return sorted((e for group in table.values() for e in group), key=lambda e: (e.name.lower(), e.distribution))

    def names(self, kind: str, *, include_namespaces: bool = False) -> list[str]:
        names = {e.name.lower(): e.name for e in reversed(self.entries(kind)) if include_namespaces or not e.is_namespace}
        return sorted(names.values(), key=str.lower)

    def load(self, kind: str, name: str) -> PluginEntry:
        """Import one plugin. Broken plugins raise ``PluginLoadError`` with a one-line reason."""
        entry = self._find(kind, name)
        self._load_entry(entry)
        if entry.status != "ok":
            raise PluginLoadError(f"{_singular(kind)} plugin '{entry.name}' from {entry.distribution} is {entry.status}: {entry.error}")
        return entry

    def load_all(self, kind: str) -> list[PluginEntry]:
        """Import every plugin of ``kind`` (each failure recorded on its entry) and mark healthy duplicates."""
        for group in self._entries[_check_kind(kind)].values():
            for entry in group:
                self._load_entry(entry)
            _mark_duplicates(group)
        return self.entries(kind)

    def get(self, kind: str, name: str) -> Any:
        """The plugin class registered under ``name`` (namespaces resolved)."""
        entry = self._find(kind, name)
        if not entry.is_namespace:
            return self.load(kind, name).obj
        self._load_entry(entry)
        if entry.status != "ok":
            raise PluginLoadError(f"plugin namespace '{entry.name}' from {entry.distribution} is {entry.status}: {entry.error}")
        subname = name[len(entry.name) - 1 :]
        try:
            with guarded(f"{_singular(kind)} namespace '{entry.name}' resolving '{subname}'"):
                cls = entry.obj(subname)
        except KeyError as exc:
            raise UnknownPluginError(str(exc.args[0]) if exc.args else f"unknown {_singular(kind)} '{name}'") from None
        except PluginLoadError:
            raise
        except Exception as exc:
            raise PluginLoadError(f"{_singular(kind)} '{name}' from {entry.distribution}: {_first_line(exc)}") from None
        problem = kind_problem(kind, cls)
        if problem:
            raise PluginLoadError(f"{_singular(kind)} '{name}' from {entry.distribution} is broken: {problem}")
        return cls

    def create(self, kind: str, name: str, **options: Any) -> Any:
        """Instantiate a plugin with its options, checked and typed against what the plugin declares.

        An unknown or malformed option is one ``UsageError`` line naming the plugin, the option, the valid
        ones and the closest match (``fer_core.api.Plugin`` says how a plugin declares its options).
        """
        cls = self.get(kind, name)
        label = f"{_singular(kind)} '{name}'"
        options = self._bound(cls, label, options)
        try:
            with guarded(f"{label}: its __init__"):
                return cls(**options)
        except (TypeError, ValueError) as exc:  # the plugin's own check of a value, or a signature mismatch
            lines = str(exc).strip().splitlines()
            raise UsageError(f"{label}: bad options: {lines[0] if lines else type(exc).__name__}") from None

    def check_options(self, kind: str, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` checked and typed for plugin ``name`` as ``create`` would, without creating it: nothing runs
        but the import of its class, so a command can refuse a bad plugin name or option before any work starts."""
        return self._bound(self.get(kind, name), f"{_singular(kind)} '{name}'", options)

    @staticmethod
    def _bound(cls: Any, label: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(cls, type) and issubclass(cls, Plugin):
            return cls.bind_options(options, owner=label)
        return dict(options)

    def select(self, kind: str, patterns: str | Iterable[str]) -> list[str]:
        """Resolve ``all``, wildcards and comma-separated names to canonical names, in order.

        ``all`` and wildcards select healthy plugins only (every plugin is loaded to find out); a wildcard
        whose only matches are broken says so. An explicit name is returned even if broken, so the caller
        records its failure.
        """
        if isinstance(patterns, str):
            patterns = patterns.split(",")
        chosen: list[str] = []
        for raw in patterns:
            pattern = raw.strip()
            if not pattern:
                continue
            if pattern.lower() == "all" or any(ch in pattern for ch in "*?["):
                matches = self._matching(kind, pattern)
            else:
                entry = self._find(kind, pattern)
                matches = [pattern if entry.is_namespace else entry.name]
            chosen.extend(m for m in matches if m not in chosen)
        return chosen

    def _matching(self, kind: str, pattern: str) -> list[str]:
        everything = pattern.lower() == "all"
        matched = [
            e for e in self.load_all(kind) if not e.is_namespace and (everything or fnmatch.fnmatch(e.name.lower(), pattern.lower()))
        ]
        healthy = list(dict.fromkeys(e.name for e in matched if e.status == "ok"))
        if healthy or everything:
            return healthy
        if matched:
            reasons = "; ".join(f"{e.name} ({e.distribution}) is {e.status}: {e.error}" for e in matched)
            raise PluginLoadError(f"no healthy {kind} match '{pattern}': {reasons}")
        raise UnknownPluginError(f"no {kind} match '{pattern}'; installed: {', '.join(self.names(kind)) or 'none'}")

    def _find(self, kind: str, name: str) -> PluginEntry:
        """The entry ``name`` means: the only one, or of several registering it the one that is healthy."""
        table = self._entries[_check_kind(kind)]
        group = table.get(name.lower())
        if group:
            if len(group) == 1:
                return group[0]
            for entry in group:
                self._load_entry(entry)
            _mark_duplicates(group)
            healthy = [e for e in group if e.status == "ok"]
            return healthy[0] if len(healthy) == 1 else next((e for e in group if e.status == "duplicate"), group[0])
        for candidates in table.values():
            candidate = candidates[0]
            if candidate.is_namespace and name.lower().startswith(candidate.name[:-1].lower()):
                return candidate
        names = {key: group[0].name for key, group in table.items()}
        close = difflib.get_close_matches(name.lower(), list(names), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else ""
        known = "" if close else f"; installed: {', '.join(self.names(kind)) or 'none'}"
        raise UnknownPluginError(f"unknown {_singular(kind)} '{name}'{hint}{known}")

    def _load_entry(self, entry: PluginEntry) -> None:
        if entry.status != "unloaded" or entry.entry_point is None:
            return
        try:
            with guarded(f"importing {entry.target}"):
                obj = entry.entry_point.load()
        except Exception as exc:  # any failure inside third-party code, sys.exit() and stray KeyboardInterrupt included
            if os.environ.get(STRICT_ENV):
                raise
            entry.status, entry.error = "broken", str(exc) if isinstance(exc, PluginLoadError) else _first_line(exc)
            return
        declared = getattr(obj, "api_version", API_VERSION)
        if declared != API_VERSION:
            entry.status = "incompatible"
            entry.error = f"written for fer plugin API {declared}, this fer-core speaks {API_VERSION}"
            return
        problem = kind_problem(entry.kind, obj, namespace=entry.is_namespace)
        if problem:
            entry.status, entry.error = "broken", f"{entry.target}: {problem}"
            return
        entry.obj, entry.status = obj, "ok"


def _mark_duplicates(group: list[PluginEntry]) -> None:
    """Several healthy entries under one name: each is a ``duplicate`` naming the others (none shadows another)."""
    healthy = [e for e in group if e.status in ("ok", "duplicate")]
    if len(healthy) < 2:
        return
    for entry in healthy:
        others = ", ".join(e.origin for e in healthy if e is not entry)
        entry.status, entry.error = "duplicate", f"name also registered by {others}"


def _check_kind(kind: str) -> str:
    if kind not in GROUPS:
        raise UnknownPluginError(f"unknown plugin kind '{kind}'; kinds: {', '.join(GROUPS)}")
    return kind


_ACTIVE: list[Registry] = []


@cache
def _installed_registry() -> Registry:
    return Registry()


def get_registry() -> Registry:
    """The process-wide registry of installed plugins (or the one a ``use_registry`` block put in its place)."""
    return _ACTIVE[-1] if _ACTIVE else _installed_registry()


def reset_registry() -> None:
    """Forget the installed plugins seen so far (after installing or removing a distribution in this process)."""
    _installed_registry.cache_clear()


get_registry.cache_clear = reset_registry  # type: ignore[attr-defined]  # the older spelling, still used by callers


@contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` what ``get_registry()`` returns inside the block (tests, notebooks with private plugins)."""
    _ACTIVE.append(registry)
    try:
        yield registry
    finally:
        _ACTIVE.remove(registry)


def model_param_count(cls: Callable[..., Any]) -> int | None:
    """Parameters of a model plugin at its defaults (7 classes, 1 channel), built on the meta device."""
    import torch

    plugin = cls()
    with torch.device("meta"):
        module = plugin.build(num_classes=7, in_channels=1, input_size=plugin.default_input_size)
    return sum(p.numel() for p in module.parameters())
