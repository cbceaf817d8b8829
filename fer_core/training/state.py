"""Resumable training state without pickle: tensors go to safetensors, everything else to JSON.

A nested state (model, optimizer and scheduler ``state_dict``s, counters, history) is walked once;
each tensor is stored under its path (``optimizer/state/3/exp_avg``) and replaced in the JSON by
``{"__tensor__": path}``. Integer dict keys and tuples keep their type through ``{"__int_keys__": ...}``
and ``{"__tuple__": [...]}``.
The JSON skeleton also lives in the safetensors header, so that one atomic rename commits an
epoch; ``state.json`` is a readable copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fer_core import atomic
from fer_core.errors import CheckpointError

STATE_WEIGHTS = "state.safetensors"
STATE_JSON = "state.json"
_TENSOR = "__tensor__"
_INT_KEYS = "__int_keys__"
_TUPLE = "__tuple__"
_SKELETON = "fer_state"


def flatten(value: Any, tensors: dict[str, Any], path: str = "") -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous().clone()
        return {_TENSOR: path}
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):
            return {_INT_KEYS: {str(k): flatten(v, tensors, f"{path}/{k}") for k, v in value.items()}}
        return {str(k): flatten(v, tensors, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, tuple):
        return {_TUPLE: [flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(value)]
    return value


def unflatten(value: Any, tensors: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            return tensors[value[_TENSOR]]
        if set(value) == {_INT_KEYS}:
            return {int(k): unflatten(v, tensors) for k, v in value[_INT_KEYS].items()}
        if set(value) == {_TUPLE}:
            return tuple(unflatten(v, tensors) for v in value[_TUPLE])
        return {k: unflatten(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [unflatten(v, tensors) for v in value]
    return value


def save_state(out_dir: Path, state: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    skeleton = flatten(state, tensors)
    text = json.dumps(skeleton)
    atomic.write_with(out_dir / STATE_WEIGHTS, lambda tmp: save_file(tensors, str(tmp), metadata={_SKELETON: text}))
    atomic.write_json(out_dir / STATE_JSON, skeleton)


def read_skeleton(out_dir: Path) -> Any:
    """The JSON part of the saved state (recipe, counters, history) from the safetensors header, without the tensors."""
    from safetensors import safe_open

    weights_path = out_dir / STATE_WEIGHTS
    try:
        with safe_open(str(weights_path), framework="pt") as handle:
            return json.loads(handle.metadata()[_SKELETON])
    except Exception as exc:  # safetensors raises its own SafetensorError for a damaged header
        raise _unreadable(weights_path, exc) from None


def load_state(out_dir: Path) -> dict[str, Any] | None:
    """The saved state, or None when the folder holds none."""
    from safetensors import safe_open

    weights_path = out_dir / STATE_WEIGHTS
    if not weights_path.is_file():
        return None
    try:
        with safe_open(str(weights_path), framework="pt") as handle:
            skeleton = json.loads(handle.metadata()[_SKELETON])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open has no __iter__)
        return unflatten(skeleton, tensors)
    except Exception as exc:  # safetensors raises its own SafetensorError for a damaged file
        raise _unreadable(weights_path, exc) from None


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CheckpointError(
        f"{path}: training state is damaged or unreadable ({why}); train into another --out (or replace it with --overwrite)"
    )
