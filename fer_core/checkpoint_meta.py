"""Checkpoint metadata as untrusted input: every field fer-core reads is type-checked here, in one place.

A ``.safetensors`` file can come from anywhere, so its metadata must not crash fer with an ``AttributeError``
nor steer what fer opens or writes. ``validate`` returns a clean copy or raises one ``CheckpointError`` naming the
file and the field; ``rebuild_options`` removes what would make rebuilding a model read another file
(``pretrained``); ``portable_data_options`` removes options that say where fer writes (``cache_dir``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fer_core.errors import CheckpointError

FORMAT = "fer-checkpoint"
MAX_FORMAT_VERSION = 2
MAX_CLASSES = 10_000
MAX_CHANNELS = 64
MAX_INPUT_SIZE = 4096
# Model options that name a file to read at build time; a rebuilt model gets the checkpoint's weights instead.
REBUILD_DROPPED_OPTIONS = frozenset({"pretrained"})
# Data options that name where fer writes; the user's own options or the default decide that, never a checkpoint.
WRITE_LOCATION_OPTIONS = frozenset({"cache_dir"})
_DISTRIBUTION_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_VERSION_TEXT = re.compile(r"^[A-Za-z0-9.+!_-]{1,64}$")


def validate(meta: Any, where: str | Path, *, expected_format: str = FORMAT, max_version: int = MAX_FORMAT_VERSION) -> dict[str, Any]:
    """``meta`` checked field by field (a shallow copy, with ``data.options`` made portable).

    ``expected_format``/``max_version`` let other carriers of the same fields (an ONNX export) use the same checks.
    """
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: not a fer checkpoint (its fer metadata is a JSON {_json_kind(meta)}, not an object)")
    if meta.get("format") != expected_format:
        raise CheckpointError(f"{where}: not a fer checkpoint (format {_shown(meta.get('format'))})")
    version = meta.get("format_version", 0)
    _expect(where, "format_version", version, _is_int(version) and version >= 0, "a whole number")
    if version > max_version:
        raise CheckpointError(f"{where}: written by a newer fer (format {version}); upgrade fer-core")
    missing = [k for k in ("model", "classes", "in_channels", "input_size", "preprocessing") if k not in meta]
    if missing:
        raise CheckpointError(f"{where}: fer metadata lacks {', '.join(missing)}")
    model = meta["model"]
    _expect(where, "model", model, isinstance(model, str) and 0 < len(model) <= 200 and model.isprintable(), "a model name")
    classes = meta["classes"]
    _expect(
        where,
        "classes",
        classes,
        isinstance(classes, list) and 0 < len(classes) <= MAX_CLASSES and all(isinstance(c, str) and c for c in classes),
        f"a list of 1 to {MAX_CLASSES} class names",
    )
    if len(set(classes)) != len(classes):
        raise CheckpointError(f"{where}: metadata field 'classes' names a class twice")
    channels, size = meta["in_channels"], meta["input_size"]
    _expect(where, "in_channels", channels, _is_int(channels) and 1 <= channels <= MAX_CHANNELS, f"a whole number 1-{MAX_CHANNELS}")
    _expect(where, "input_size", size, _is_int(size) and 1 <= size <= MAX_INPUT_SIZE, f"a whole number 1-{MAX_INPUT_SIZE}")
    check_preprocessing(meta["preprocessing"], where, channels=channels)
    for key in ("model_options", "data", "plugin", "config", "val_metrics"):
        value = meta.get(key)
        _expect(where, key, value, value is None or (isinstance(value, dict) and all(isinstance(k, str) for k in value)), "a JSON object")
    encoding = meta.get("weight_encoding")
    _expect(where, "weight_encoding", encoding, encoding is None or isinstance(encoding, str), "text")
    clean = dict(meta)
    if meta.get("data") is not None:
        clean["data"] = _checked_data(meta["data"], where)
    if meta.get("plugin") is not None:
        plugin = meta["plugin"]
        for key in ("distribution", "version"):
            _expect(where, f"plugin.{key}", plugin.get(key), plugin.get(key) is None or isinstance(plugin.get(key), str), "text")
    return clean


def check_preprocessing(prep: Any, where: str | Path, *, channels: int | None = None) -> None:
    """Raise one ``CheckpointError`` unless ``prep`` is a usable preprocessing record (finite mean, std > 0)."""
    field = "preprocessing"
    _expect(
        where,
        field,
        prep,
        isinstance(prep, dict) and {"channels", "size", "mean", "std"} <= set(prep),
        "an object with channels, size, mean, std",
    )
    have, size = prep["channels"], prep["size"]
    _expect(where, f"{field}.channels", have, _is_int(have) and 1 <= have <= MAX_CHANNELS, f"a whole number 1-{MAX_CHANNELS}")
    if channels is not None and have != channels:
        raise CheckpointError(f"{where}: metadata field '{field}.channels' is {have} but in_channels is {channels}")
    _expect(where, f"{field}.size", size, _is_int(size) and 1 <= size <= MAX_INPUT_SIZE, f"a whole number 1-{MAX_INPUT_SIZE}")
    for key in ("mean", "std"):
        values = prep[key]
        ok = isinstance(values, list | tuple) and len(values) == have and all(_is_finite_number(v) for v in values)
        _expect(where, f"{field}.{key}", values, ok, f"a list of {have} finite number(s)")
    if any(v <= 0 for v in prep["std"]):
        raise CheckpointError(
            f"{where}: metadata field '{field}.std' must be positive (got {_shown(prep['std'])}); dividing by it gives NaN"
        )


def rebuild_options(options: Any) -> Any:
    """``options`` without ``pretrained`` at any depth (an ensemble's members carry their own options)."""
    if isinstance(options, Mapping):
        return {k: rebuild_options(v) for k, v in options.items() if k not in REBUILD_DROPPED_OPTIONS}
    if isinstance(options, list):
        return [rebuild_options(v) for v in options]
    return options


def portable_data_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Recorded data options minus those that say where fer writes (``cache_dir`` and any other ``*_dir``)."""
    return {k: v for k, v in (options or {}).items() if k not in WRITE_LOCATION_OPTIONS and not k.endswith("_dir")}


def install_hint(meta: Mapping[str, Any]) -> str | None:
    """``'fer-foo' 1.2, which is not installed: pip install fer-foo`` when the metadata names a plausible distribution."""
    plugin = meta.get("plugin") or {}
    name, version = plugin.get("distribution"), plugin.get("version")
    if not isinstance(name, str) or not _DISTRIBUTION_NAME.match(name):
        return None
    shown_version = f" {version}" if isinstance(version, str) and _VERSION_TEXT.match(version) else ""
    return f"'{name}'{shown_version}, which is not installed: pip install {name}"


def _checked_data(data: dict[str, Any], where: str | Path) -> dict[str, Any]:
    spec, options = data.get("spec"), data.get("options")
    _expect(where, "data.spec", spec, spec is None or isinstance(spec, str), "text")
    _expect(where, "data.options", options, options is None or isinstance(options, dict), "a JSON object")
    clean = dict(data)
    if options is not None:
        clean["options"] = portable_data_options(options)
    return clean


def _expect(where: str | Path, field: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise CheckpointError(f"{where}: metadata field '{field}' must be {expected}, got {_shown(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json_kind(value: Any) -> str:
    return {list: "list", str: "string", type(None): "null", bool: "boolean", int: "number", float: "number"}.get(type(value), "value")


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
