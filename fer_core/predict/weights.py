"""Named weights: trained checkpoints that install with a distribution and are found by name from any directory.

A distribution publishes weights in the ``fer.weights`` entry-point group, the same way it publishes a model::

    [project.entry-points."fer.weights"]
    my-weights = "my_package:MyWeights"

    class MyWeights:                      # in my_package/__init__.py
        description = "what they are"
        path = Path(__file__).parent / "my-weights.safetensors"   # package data

The entry is a class (as every fer plugin is) whose ``path`` is the local file (``str`` or ``os.PathLike``; a
relative one is taken relative to the module that defines it). fer-weights registers the reference checkpoints
``fer-fast``, ``fer-accurate`` and ``fer-ensemble``. A model card ``NAME.md`` beside the file is named by
``fer list weights``, which shows its ``Licence:`` line. Nothing is ever downloaded.

Wherever a checkpoint is asked for, a bare name (no folder, no file suffix) that is installed means those weights;
anything else is a path (write ``./fer-fast`` for a local file of that stem).
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

from fer_core.errors import CheckpointError, FerError, UnknownPluginError

DEFAULT_WEIGHTS = "fer-fast"
PATH_SUFFIXES = (".safetensors", ".json", ".onnx")
LICENCE_LINE = re.compile(r"^\W*licen[cs]e\W*:\W*(.+)$", re.IGNORECASE)


def is_bare_name(spec: str) -> bool:
    return bool(spec) and "/" not in spec and os.sep not in spec and not spec.lower().endswith(PATH_SUFFIXES) and spec not in (".", "..")


def installed_weights() -> list[str]:
    from fer_core.registry import get_registry

    return get_registry().names("weights")


def weights_path(name: str) -> Path:
    """The local file an installed weights name stands for; a broken or missing entry is a one-line error."""
    from fer_core.registry import get_registry

    entry = get_registry().load("weights", name)
    path = entry_path(entry.obj, entry.target)
    if not path.is_file():
        raise CheckpointError(f"weights '{entry.name}' from {entry.distribution}: {path} is missing (reinstall {entry.distribution})")
    return path


def entry_path(obj: Any, target: str) -> Path:
    value = getattr(obj, "path", None)
    if callable(value) and not isinstance(value, str | os.PathLike):
        value = value()
    if not isinstance(value, str | os.PathLike):
        raise CheckpointError(f"weights entry {target} has no 'path' naming a local file (got {type(value).__name__})")
    path = Path(value)
    if not path.is_absolute():
        module = importlib.import_module(target.partition(":")[0])
        path = Path(module.__file__ or ".").parent / path
    return path


def resolve_weights(spec: str | Path | None) -> Path:
    """An installed weights name -> its file; anything else (a path) is returned as a ``Path`` for the loaders to check.

    None means the default weights (``fer-fast``).
    """
    if spec is None:
        try:
            return weights_path(DEFAULT_WEIGHTS)
        except (UnknownPluginError, FerError):
            raise CheckpointError(
                f"no checkpoint given and no weights named '{DEFAULT_WEIGHTS}' are installed "
                "(install plugins/fer-weights, or pass --checkpoint PATH or an installed name from `fer list weights`)"
            ) from None
    if isinstance(spec, Path) or not is_bare_name(spec):
        return Path(spec)
    names = {name.lower(): name for name in installed_weights()}
    if spec.lower() in names:
        return weights_path(names[spec.lower()])
    local = Path(spec)
    if local.is_dir() or local.with_name(local.name + ".safetensors").is_file():
        return local
    known = ", ".join(names.values()) or "none"
    raise CheckpointError(f"'{spec}' is neither an installed weights name (installed: {known}) nor a checkpoint file")


def describe_weights(obj: Any, target: str) -> dict[str, Any]:
    """What `fer list weights` shows for one entry: model, classes, input, PublicTest numbers, size, licence note."""
    from fer_core.checkpoint import read_metadata

    path = entry_path(obj, target)
    meta = read_metadata(path)
    metrics = meta.get("val_metrics") if isinstance(meta.get("val_metrics"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    return {
        "path": str(path),
        "model": meta.get("model"),
        "classes": list(meta.get("classes") or []),
        "input": f"{meta.get('in_channels')}x{meta.get('input_size')}x{meta.get('input_size')}",
        "protocol": data.get("protocol"),
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "size_bytes": path.stat().st_size,
        "licence": meta.get("licence") or licence_note(path.with_suffix(".md")),
        "card": str(path.with_suffix(".md")) if path.with_suffix(".md").is_file() else None,
    }


def licence_note(card: Path) -> str:
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LICENCE_LINE.match(line.strip())
        if match:
            return match.group(1).strip(" *")
    return ""


# Narrow on purpose: `fer list weights` must read at 80 columns next to name, distribution, version and status; classes,
# input and licence note are in --json, in the model card, and in the description (shown on wide terminals).
WEIGHTS_COLUMNS = ("model", "acc/F1 %", "MB")


def weights_row(entry: Any) -> dict[str, Any]:
    """The extra fields `fer list weights` (and its --json) gives an installed weights entry; a broken one says why."""
    try:
        return describe_weights(entry.obj, entry.target)
    except FerError as exc:
        return {"status": "broken", "error": str(exc).splitlines()[0]}


def weights_cells(row: dict[str, Any]) -> list[str]:
    """The table's cells: model, PublicTest accuracy / macro-F1 in %, size in MB."""

    def pct(value: Any) -> str:
        return f"{100 * value:.1f}" if isinstance(value, int | float) else "?"

    size = row.get("size_bytes")
    scores = f"{pct(row.get('accuracy'))}/{pct(row.get('macro_f1'))}" if row.get("accuracy") is not None else ""
    return [str(row.get("model") or ""), scores, f"{size / 1e6:.1f}" if isinstance(size, int) else ""]
