"""Start a model from ImageNet weights already on disk, never from the network.

A model plugin's ``pretrained`` option is one of:

* ``None`` (or ``"none"``): random initialisation; said once per process.
* ``"imagenet"``: torchvision's file in the standard torch hub cache
  (``$TORCH_HOME/hub/checkpoints``), loaded with ``torch.load(weights_only=True)``;
  when it is not there, say so once and start from scratch.
* a path to a ``.safetensors`` state dict.

The first convolution is converted to the model's input channels (grayscale: the
sum over RGB, so a gray image gives the response the RGB filter gave to the same
gray image in colour); tensors whose shape differs from the model's (the
classifier, a replaced stem) keep their random initialisation and are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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


@dataclass
class PretrainedReport:
    source: str | None
    loaded: list[str] = field(default_factory=list)
    kept_random: list[str] = field(default_factory=list)

    @property
    def from_scratch(self) -> bool:
        return not self.loaded


def say_once(key: str, message: str, level: int = logging.WARNING) -> None:
    """Log ``message`` the first time ``key`` is seen in this process."""
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
    import torch

    if source == IMAGENET:
        if url is None:
            raise UsageError(f"{model_name}: no ImageNet weights are known for this model; pass pretrained=PATH.safetensors")
        path = hub_cache_file(url)
        if not path.is_file():
            say_once(
                f"{model_name}:missing:{path}",
                f"{model_name}: ImageNet weights not found at {path} (fer never downloads); starting from scratch",
            )
            return None
        return torch.load(path, map_location="cpu", weights_only=True), path
    path = Path(source).expanduser()
    if not path.is_file():
        raise UsageError(f"{model_name}: pretrained weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu"), path
    hub_dir = Path(torch.hub.get_dir()).resolve()
    if path.resolve().is_relative_to(hub_dir):
        return torch.load(path, map_location="cpu", weights_only=True), path
    raise UsageError(
        f"{model_name}: pretrained weights must be a .safetensors state dict (got {path.name}); "
        f"pickle files are read only from the torch hub cache {hub_dir}"
    )


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
    if on_meta_device(model):
        return report  # counting parameters, not building a model to train
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
