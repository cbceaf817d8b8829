"""Start a model from ImageNet weights already on disk, never from the network.

A model plugin's ``pretrained`` option is one of:

* ``None`` (or ``"none"``): random initialisation; said once per process.
* ``"imagenet"``: torchvision's file in the standard torch hub cache
  (``$TORCH_HOME/hub/checkpoints``), loaded with ``torch.load(weights_only=True)``;
  when it is not there, a one-line ``UsageError`` (a run never claims ImageNet weights it did not start from).
* a path to a ``.safetensors`` state dict (pickle files only from the torch hub cache).

Rebuilding a model to receive a checkpoint's weights (``with rebuilding():``, as ``fer_core.checkpoint`` does)
never opens a pretrained file and says nothing: the checkpoint's weights replace them anyway, and a checkpoint's
metadata must not decide which file fer opens.

The first convolution is converted to the model's input channels (grayscale: the
sum over RGB, so a gray image gives the response the RGB filter gave to the same
gray image in colour); tensors whose shape differs from the model's (the
classifier, a replaced stem) keep their random initialisation and are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_core.errors import UsageError

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger("fer.pretrained")
IMAGENET = "imagenet"
_said: set[str] = set()
_rebuilding: ContextVar[bool] = ContextVar("fer_pretrained_rebuilding", default=False)


@dataclass
class PretrainedReport:
    source: str | None
    loaded: list[str] = field(default_factory=list)
    kept_random: list[str] = field(default_factory=list)

    @property
    def from_scratch(self) -> bool:
        return not self.loaded


@contextmanager
def rebuilding() -> Iterator[None]:
    """Within this block models are built only to receive stored weights: no pretrained file is read, nothing is said."""
    token = _rebuilding.set(True)
    try:
        yield
    finally:
        _rebuilding.reset(token)


def is_rebuilding() -> bool:
    return _rebuilding.get()


def say_once(key: str, message: str, level: int = logging.WARNING) -> None:
    """Log ``message`` the first time ``key`` is seen in this process (never while rebuilding from a checkpoint)."""
    if is_rebuilding():
        return
    if key not in _said:
        _said.add(key)
        logger.log(level, message)


def normalize_source(value: Any) -> str | None:
    """The ``pretrained`` option as given on a command line or in Python, or None for "from scratch"."""
    if value is None or value is False:
        return None
    text = str(value).strip()
    if text.lower() in ("", "none", "false", "no", "0", "scratch"):
        return None
    return IMAGENET if text.lower() == IMAGENET else text


def hub_cache_file(url: str) -> Path:
    """Where ``torch.hub`` keeps the file it would download from ``url``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def adapt_first_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """RGB filters (out, 3, k, k) for ``in_channels`` inputs, answering a gray image as the RGB filters did.

    One channel gets the sum over RGB; other widths share that sum equally.
    """
    if in_channels == weight.shape[1]:
        return weight
    gray = weight.sum(dim=1, keepdim=True)
    return gray if in_channels == 1 else gray.repeat(1, in_channels, 1, 1) / in_channels


def _read_state_dict(source: str, url: str | None, model_name: str) -> tuple[dict[str, torch.Tensor], Path] | None:
    if source == IMAGENET:
        if url is None:
            raise UsageError(f"{model_name}: no ImageNet weights are known for this model; pass pretrained=PATH.safetensors")
        path = hub_cache_file(url)
        if not path.is_file():
            raise missing_imagenet_error(model_name, path)
        return _torch_load(path, model_name), path
    path = checked_weights_file(source, model_name)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu"), path
        except Exception as exc:  # a damaged or forged file
            raise UsageError(f"{model_name}: cannot read pretrained weights {path}: {str(exc).strip().splitlines()[0]}") from None
    return _torch_load(path, model_name), path


def missing_imagenet_error(model_name: str, path: Path | str) -> UsageError:
    return UsageError(
        f"{model_name}: pretrained=imagenet but no ImageNet weights at {path} (fer never downloads); put the file there, "
        "pass pretrained=PATH.safetensors, or leave pretrained unset to train from scratch"
    )


def checked_weights_file(source: str, model_name: str) -> Path:
    """``source`` as a weights file fer may open: a ``.safetensors`` file, or a pickle inside the torch hub cache."""
    import torch

    path = Path(source).expanduser()
    if not path.is_file():
        raise UsageError(f"{model_name}: pretrained weights file not found: {path}")
    if path.suffix == ".safetensors":
        return path
    hub_dir = Path(torch.hub.get_dir()).resolve()
    if path.resolve().is_relative_to(hub_dir):
        return path
    raise UsageError(
        f"{model_name}: pretrained weights must be a .safetensors state dict (got {path.name}); "
        f"pickle files are read only from the torch hub cache {hub_dir}"
    )


def _torch_load(path: Path, model_name: str) -> dict[str, torch.Tensor]:
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        raise UsageError(f"{model_name}: cannot read pretrained weights {path}: {str(exc).strip().splitlines()[0]}") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise UsageError(f"{model_name}: {path} is not a state dict (a mapping of names to tensors)")
    return state


def load_pretrained(
    model: nn.Module,
    source: str | None,
    *,
    model_name: str,
    first_conv: str,
    url: str | None = None,
    rename: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
) -> PretrainedReport:
    """Load what fits of the weights named by ``source`` into ``model``; see the module docstring."""
    report = PretrainedReport(source=source)
    if on_meta_device(model) or is_rebuilding():
        return report  # counting parameters, or about to receive a checkpoint's weights
    if source is None:
        say_once(f"{model_name}:scratch", f"{model_name}: starting from scratch (random init); pretrained=imagenet or PATH loads weights")
        return report
    found = _read_state_dict(source, url, model_name)
    if found is None:
        return report
    state, path = found
    if rename is not None:
        state = rename(state)
    own = model.state_dict()
    conv_key = f"{first_conv}.weight"
    if conv_key in state and conv_key in own and state[conv_key].ndim == 4:
        state[conv_key] = adapt_first_conv(state[conv_key], own[conv_key].shape[1])
    fitting = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if not fitting:
        raise UsageError(f"{model_name}: no tensor in {path} fits this model; is it the right architecture?")
    model.load_state_dict(fitting, strict=False)
    report.loaded = sorted(fitting)
    report.kept_random = sorted(k for k in own if k not in fitting)
    logger.info(
        "%s: loaded %d of %d tensors from %s; random init kept for %s",
        model_name,
        len(report.loaded),
        len(own),
        path,
        ", ".join(report.kept_random) or "none",
    )
    return report


def on_meta_device(model: nn.Module) -> bool:
    first = next(model.parameters(), None)
    return first is not None and first.device.type == "meta"
