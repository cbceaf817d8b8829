"""``load_dataset``: one door from a user's data spec to a ``Dataset``.

A spec is a registered dataset name (``demo``), a path whose format is detected by
asking each registered source, ``name:path`` to force a source, or several of those
joined by ``+`` to merge them under the canonical labels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from fer_core.api import Dataset, DatasetSource
from fer_core.data.combine import apply_contempt, canonicalise, merge, select_classes, with_class_count
from fer_core.data.labels import parse_mapping
from fer_core.data.splits import ensure_val
from fer_core.errors import DataError, UsageError
from fer_core.options import accepts_any_option, coerce, option_specs, unknown_option_message
from fer_core.registry import get_registry

ON_BAD = ("error", "skip")
# Settings of the whole load (every part of a merged spec), typed like options; ``mapping`` is handled apart.
SETTINGS: dict[str, Any] = {
    "classes": str,
    "contempt": Literal["keep", "drop"],
    "val_fraction": float,
    "seed": int,
    "cache_dir": Path | None,
    "cache": bool,
    "on_bad": Literal["error", "skip"],
}


def load_dataset(
    spec: str | Path,
    *,
    classes: str = "auto",
    contempt: str = "keep",
    mapping: Mapping[str, str] | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    cache_dir: Path | None = None,
    cache: bool = True,
    on_bad: str = "error",
    options: Mapping[str, Any] | None = None,
) -> Dataset:
    """Load, canonicalise, merge and select classes; splits ``train``, ``val`` and, where known, ``test``.

    ``options`` go to the source that reads each part (e.g. ``size``/``channels`` for generic folders, ``train`` for
    demo), typed by what it declares; a key that no source reading the spec declares is one ``UsageError``. An option
    named like one of the keyword arguments above overrides it, so ``--data-opt contempt=drop`` works wherever a
    command passes its data options through.
    """
    source_options = dict(options or {})
    given = {
        "classes": classes,
        "contempt": contempt,
        "mapping": mapping,
        "val_fraction": val_fraction,
        "seed": seed,
        "cache_dir": cache_dir,
        "cache": cache,
        "on_bad": on_bad,
    }
    given.update({key: source_options.pop(key) for key in list(source_options) if key in given})
    settings = _checked(given)
    parts_spec = split_spec(spec)
    sources = [_resolve_part(part, {**source_options, **settings}) for part in parts_spec]
    _check_known(source_options, [name for name, _, _ in sources])
    parts = []
    for name, path, kind in sources:
        loaded = _create(name, {**source_options, **settings}).load(path if kind != "named" else None)
        dataset = canonicalise(loaded, settings["mapping"])
        dataset = apply_contempt(dataset, settings["contempt"])
        parts.append(ensure_val(dataset, settings["val_fraction"], settings["seed"]))
    dataset = parts[0] if len(parts) == 1 else merge(parts)
    dataset = select_classes(dataset, settings["classes"], settings["mapping"])
    return replace(dataset, protocol=with_class_count(dataset.protocol, len(dataset.classes)))


def _checked(given: dict[str, Any]) -> dict[str, Any]:
    """The load-level settings, typed as their annotations say (``cache=no`` is off), one ``UsageError`` if not."""
    mapping = given["mapping"] or {}
    if isinstance(mapping, str):  # "1=surprise,4=happy" from a KEY=VALUE option
        mapping = parse_mapping(mapping.split(","))
    if not isinstance(mapping, Mapping):
        raise UsageError(f"mapping must be SOURCE=TARGET pairs, got {mapping!r}")
    typed = {key: coerce(given[key], annotation, name=key, owner="data") for key, annotation in SETTINGS.items()}
    if not 0.0 <= typed["val_fraction"] < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {typed['val_fraction']}")
    return {**typed, "mapping": {str(k): str(v) for k, v in mapping.items()}}


def _check_known(options: Mapping[str, Any], names: list[str]) -> None:
    """Every source option must be declared by some source that reads the spec (or one that takes any option)."""
    accepted: set[str] = set(SETTINGS) | {"mapping"}
    for name in names:
        declared = _declared(name)
        if declared is None:
            return
        accepted |= declared
    for key in options:
        if key not in accepted:
            owner = f"--data-opt for {' + '.join(dict.fromkeys(names))}"
            raise UsageError(unknown_option_message(owner, key, sorted(accepted)))


def _declared(name: str) -> set[str] | None:
    """The option names dataset source ``name`` declares; None when it takes any."""
    cls = get_registry().get("datasets", name)
    if accepts_any_option(cls):
        return None
    return {spec.name for spec in option_specs(cls)}


def split_spec(spec: str | Path) -> list[str]:
    text = str(spec).strip()
    if not text:
        raise UsageError("no dataset given; pass a path, a dataset name such as demo, or NAME:PATH")
    if "+" not in text or Path(text).exists():
        return [text]
    parts = [p.strip() for p in text.split("+")]
    if any(not p for p in parts):
        raise UsageError(f"bad dataset spec '{text}': empty part around '+'")
    return parts


def load_part(part: str, options: Mapping[str, Any]) -> Dataset:
    """One dataset from a name, a path or ``name:path``."""
    name, path, kind = _resolve_part(part, options)
    return _create(name, options).load(path if kind != "named" else None)


def _resolve_part(part: str, options: Mapping[str, Any]) -> tuple[str, Path, str]:
    """(source name, path, how: named | forced | detected) for one part of a spec."""
    registry = get_registry()
    names = {n.lower(): n for n in registry.names("datasets")}
    path = Path(part).expanduser()
    if not path.exists():
        prefix, sep, rest = part.partition(":")
        if sep and prefix.lower() in names:
            forced = Path(rest).expanduser()
            if not forced.exists():
                raise DataError(f"no such file or directory: {rest}")
            return names[prefix.lower()], forced, "forced"
        if part.lower() in names:
            return names[part.lower()], path, "named"
        if "/" in part or os.sep in part or part.startswith((".", "~")):
            raise DataError(f"no such file or directory: {part}")
        raise DataError(f"no such file or directory: {part} (and no dataset named '{part}'; datasets: {', '.join(sorted(names.values()))})")
    return detect_source_name(path, options), path, "detected"


def detect_source(path: Path, options: Mapping[str, Any]) -> DatasetSource:
    """The most specific registered source that says it can read ``path``."""
    return _create(detect_source_name(path, options), options)


def detect_source_name(path: Path, options: Mapping[str, Any]) -> str:
    """The name of the most specific registered source that says it can read ``path``."""
    registry = get_registry()
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    candidates: list[tuple[int, str]] = []
    for entry in registry.load_all("datasets"):
        if entry.status != "ok" or entry.is_namespace:
            continue
        try:
            source = _create(entry.name, options)
            if source.can_load(path):
                candidates.append((-int(getattr(source, "detect_priority", 0)), entry.name))
        except Exception:  # a third-party detector that crashes simply does not claim the path
            continue
    if not candidates:
        names = ", ".join(registry.names("datasets"))
        raise DataError(
            f"cannot tell what dataset format {path} is (not a FER-2013 CSV or folder, CK+ folder or <label>/<image> folder); "
            f"force one with NAME:PATH, NAME one of {names}"
        )
    return min(candidates)[1]


def _create(name: str, options: Mapping[str, Any]) -> DatasetSource:
    """Source ``name`` with the options it declares (all of them for one that takes any); unknown keys are checked
    once per spec by ``_check_known``, since one spec's options go to every part of a merge."""
    declared = _declared(name)
    chosen = dict(options) if declared is None else {k: v for k, v in options.items() if k in declared}
    return get_registry().create("datasets", name, **chosen)
