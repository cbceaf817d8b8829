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
from typing import Any

from fer_core.api import Dataset, DatasetSource
from fer_core.data.combine import apply_contempt, canonicalise, merge, select_classes, with_class_count
from fer_core.data.labels import parse_mapping
from fer_core.data.splits import ensure_val
from fer_core.errors import DataError, UsageError
from fer_core.registry import get_registry

ON_BAD = ("error", "skip")


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

    ``options`` go to every source (e.g. ``size``/``channels`` for generic folders, ``train`` for demo);
    an option named like one of the keyword arguments above overrides it, so ``--data-opt contempt=drop``
    works wherever a command passes its data options through.
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
    source_options.update(settings)
    parts = []
    for part in split_spec(spec):
        dataset = canonicalise(load_part(part, source_options), settings["mapping"])
        dataset = apply_contempt(dataset, settings["contempt"])
        parts.append(ensure_val(dataset, settings["val_fraction"], settings["seed"]))
    dataset = parts[0] if len(parts) == 1 else merge(parts)
    dataset = select_classes(dataset, settings["classes"], settings["mapping"])
    return replace(dataset, protocol=with_class_count(dataset.protocol, len(dataset.classes)))


def _checked(given: dict[str, Any]) -> dict[str, Any]:
    if given["on_bad"] not in ON_BAD:
        raise UsageError(f"on_bad must be one of {', '.join(ON_BAD)}, got '{given['on_bad']}'")
    if given["contempt"] not in ("keep", "drop"):
        raise UsageError(f"contempt must be 'keep' or 'drop', got '{given['contempt']}'")
    mapping = given["mapping"] or {}
    if isinstance(mapping, str):  # "1=surprise,4=happy" from a KEY=VALUE option
        mapping = parse_mapping(mapping.split(","))
    if not isinstance(mapping, Mapping):
        raise UsageError(f"mapping must be SOURCE=TARGET pairs, got {mapping!r}")
    try:
        val_fraction = float(given["val_fraction"])
        seed = int(given["seed"])
    except (TypeError, ValueError):
        raise UsageError(f"val_fraction must be a number and seed an integer: {given['val_fraction']!r}, {given['seed']!r}") from None
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    return {
        **given,
        "classes": str(given["classes"]),
        "mapping": {str(k): str(v) for k, v in mapping.items()},
        "val_fraction": val_fraction,
        "seed": seed,
        "cache": bool(given["cache"]),
    }


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
    registry = get_registry()
    names = {n.lower(): n for n in registry.names("datasets")}
    path = Path(part).expanduser()
    if not path.exists():
        prefix, sep, rest = part.partition(":")
        if sep and prefix.lower() in names:
            forced = Path(rest).expanduser()
            if not forced.exists():
                raise DataError(f"no such file or directory: {rest}")
            return _create(names[prefix.lower()], options).load(forced)
        if part.lower() in names:
            return _create(names[part.lower()], options).load(None)
        if "/" in part or os.sep in part or part.startswith((".", "~")):
            raise DataError(f"no such file or directory: {part}")
        raise DataError(f"no such file or directory: {part} (and no dataset named '{part}'; datasets: {', '.join(sorted(names.values()))})")
    return detect_source(path, options).load(path)


def detect_source(path: Path, options: Mapping[str, Any]) -> DatasetSource:
    """The most specific registered source that says it can read ``path``."""
    registry = get_registry()
    candidates: list[tuple[int, str, DatasetSource]] = []
    for entry in registry.load_all("datasets"):
        if entry.status != "ok" or entry.is_namespace:
            continue
        source = _create(entry.name, options)
        try:
            if source.can_load(path):
                candidates.append((-int(getattr(source, "detect_priority", 0)), entry.name, source))
        except Exception:  # a third-party detector that crashes simply does not claim the path
            continue
    if not candidates:
        names = ", ".join(registry.names("datasets"))
        raise DataError(
            f"cannot tell what dataset format {path} is (not a FER-2013 CSV or folder, CK+ folder or <label>/<image> folder); "
            f"force one with NAME:PATH, NAME one of {names}"
        )
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


def _create(name: str, options: Mapping[str, Any]) -> DatasetSource:
    return get_registry().create("datasets", name, **options)
