"""Put trained fer checkpoints into one ensemble checkpoint (no training: the members keep their weights)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import torch

from fer_core.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from fer_core.errors import CheckpointError
from fer_ensemble.model import Ensemble

SHARED_KEYS = ("classes", "in_channels", "input_size", "preprocessing")
COPIED_KEYS = ("classes", "in_channels", "input_size", "preprocessing", "data")


def assemble(checkpoints: list[str | Path], out: str | Path, *, half: bool = False, command: str | None = None) -> Path:
    """Write ``out`` (.safetensors + .json): an ``ensemble`` model whose members are the given checkpoints' models."""
    if len(checkpoints) < 2:
        raise CheckpointError("an ensemble needs at least two checkpoints")
    loaded = [(resolve_checkpoint(c), *load_checkpoint(c)) for c in checkpoints]
    first_path, _, first = loaded[0]
    for path, _, meta in loaded[1:]:
        for key in SHARED_KEYS:
            if meta[key] != first[key]:
                raise CheckpointError(f"{path}: {key} {meta[key]!r} differs from {first_path}'s {first[key]!r}; members must agree")
    members = [{"model": meta["model"], "options": meta.get("model_options", {})} for _, _, meta in loaded]
    module = Ensemble(members=members).build(len(first["classes"]), int(first["in_channels"]), int(first["input_size"]))
    for target, (_, model, _) in zip(module.members, loaded, strict=True):
        target.load_state_dict(model.state_dict())
    meta: dict[str, Any] = {key: first[key] for key in COPIED_KEYS if key in first}
    meta |= {
        "model": "ensemble",
        "model_options": {"members": members},
        "plugin": {"distribution": "fer-ensemble"},
        "command": command or "python -m fer_ensemble " + shlex.join([*map(str, checkpoints), "--out", str(out)]),
        "members": [
            {"checkpoint": str(path), "model": meta["model"], "command": meta.get("command"), "val_metrics": _headline(meta)}
            for path, _, meta in loaded
        ],
        "train_seconds": sum(float(meta.get("train_seconds") or 0) for _, _, meta in loaded),
        "stored_dtype": "float16" if half else "float32",
    }
    return save_checkpoint(out, module.half() if half else module.to(torch.float32), meta)


def _headline(meta: dict[str, Any]) -> dict[str, Any]:
    metrics = meta.get("val_metrics") or {}
    return {key: metrics[key] for key in ("n", "accuracy", "macro_f1") if key in metrics}
