"""A bridge from timm to fer: ``timm/<arch>`` is a fer model for any architecture timm knows.

``resolve(arch)`` returns a ``ModelPlugin`` class that builds
``timm.create_model(arch, pretrained=False, in_chans=in_channels, num_classes=num_classes)``.
Weights are never downloaded: ``pretrained=PATH`` loads a local ``.safetensors`` file (pickles only from the
torch hub cache, as for fer-core's models), ``pretrained=cache`` (or ``imagenet``, as for the other zoo models)
uses timm's file when it is already in the Hugging Face or torch hub cache, and is a one-line error when it is not.
Rebuilding a model from a checkpoint (``fer_core.pretrained.rebuilding``) never reads pretrained weights.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError
from fer_core.pretrained import IMAGENET, checked_weights_file, hub_cache_file, is_rebuilding, normalize_source, on_meta_device, say_once

CACHE = "cache"
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class TimmModel(ModelPlugin):
    """Base of the classes ``resolve`` makes; ``arch`` names the timm architecture."""

    arch: ClassVar[str] = ""
    supports_pretrained: ClassVar[bool] = True

    def __init__(self, pretrained: str | None = None, drop_rate: float = 0.0) -> None:
        try:
            drop_rate = float(drop_rate)
        except (TypeError, ValueError):
            raise UsageError(f"timm/{self.arch}: drop_rate must be a number, got {drop_rate!r}") from None
        if not 0 <= drop_rate < 1:
            raise UsageError(f"timm/{self.arch}: drop_rate must be in [0, 1), got {drop_rate}")
        source = None if is_rebuilding() else normalize_source(pretrained)
        if source is not None and source.lower() in (CACHE, IMAGENET):
            source = CACHE
        elif source is not None:
            source = str(checked_weights_file(source, f"timm/{self.arch}"))
        super().__init__(pretrained=pretrained, drop_rate=drop_rate)
        self.pretrained, self.drop_rate = source, drop_rate

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        import timm

        kwargs: dict[str, Any] = {"in_chans": in_channels, "num_classes": num_classes}
        if self.drop_rate:
            kwargs["drop_rate"] = self.drop_rate
        cfg = timm.models.get_pretrained_cfg(self.arch)
        if cfg is not None and cfg.fixed_input_size:
            kwargs["img_size"] = input_size
        weights = None if is_rebuilding() or _meta_default_device() else self._weights_file(cfg)
        if weights is not None:
            kwargs.update(pretrained=True, pretrained_cfg_overlay={"file": str(weights)})
        model = timm.create_model(self.arch, **kwargs)
        if self.pretrained is None and not on_meta_device(model):
            name = f"timm/{self.arch}"
            say_once(f"{name}:scratch", f"{name}: starting from scratch (random init); pretrained=cache or PATH loads weights")
        return model

    def _weights_file(self, cfg: Any) -> Path | None:
        if self.pretrained is None:
            return None
        if self.pretrained != CACHE:
            return Path(self.pretrained).expanduser()
        found = cached_weights(cfg)
        if found is None:
            raise UsageError(
                f"timm/{self.arch}: pretrained={CACHE} but timm's weights are not in the Hugging Face or torch hub cache "
                "(fer never downloads); put them there, pass pretrained=PATH.safetensors, or leave pretrained unset"
            )
        return found


def _meta_default_device() -> bool:
    """True inside ``with torch.device("meta")``: the model is only being counted, no weights are read."""
    import torch

    return torch.empty(0).device.type == "meta"


def cached_weights(cfg: Any) -> Path | None:
    """timm's weight file for ``cfg`` if it is already on disk, looked up without any network access."""
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        names = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else HF_WEIGHT_FILES
        for name in names:
            found = try_to_load_from_cache(repo_id=cfg.hf_hub_id, filename=name)
            if isinstance(found, str):
                return Path(found)
    if cfg.url:
        path = hub_cache_file(cfg.url)
        if path.is_file():
            return path
    return None


@cache
def resolve(arch: str) -> type[ModelPlugin]:
    """The fer model class for timm architecture ``arch``; KeyError naming close matches when timm lacks it."""
    import timm

    name = arch if timm.is_model(arch) else arch.lower()
    if not timm.is_model(name):
        known = timm.list_models()
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        if not close:
            base = name.split(".")[0]
            close = timm.list_models(f"*{base[: max(3, len(base) // 2)]}*")[:5]
        hint = f"; close matches: {', '.join(close)}" if close else "; see timm.list_models()"
        raise KeyError(f"timm has no architecture '{arch}'{hint}")
    return type(
        f"Timm_{name.replace('.', '_')}",
        (TimmModel,),
        {"arch": name, "description": f"timm {name}, built with in_chans and num_classes set.", "__module__": __name__},
    )


MobileNetV3Small100 = resolve("mobilenetv3_small_100")
EfficientNetB0 = resolve("efficientnet_b0")
ResNet10T = resolve("resnet10t")
