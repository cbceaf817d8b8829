"""DenseNet121 from torchvision for grayscale faces.

Stems: ``small`` (default) keeps the 7x7 conv0 but at stride 1, then the max-pool, so a
48x48 face reaches the dense blocks at 24x24 and denseblock4 still sees a 3x3 map; its
kernel shape is unchanged, so ImageNet conv0 weights still load. ``imagenet`` is
torchvision's stride-2 conv0 + max-pool: four times cheaper, but denseblock4 sees 1x1.

``train_scope=last_block`` freezes everything below denseblock4 (weights and batch-norm
statistics) and trains denseblock4, norm5 and the classifier, as the original project did.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

import torch
from torch import nn
from torchvision.models import DenseNet

from fer_core.api import ModelPlugin
from fer_core.pretrained import PretrainedReport, load_pretrained, normalize_source, say_once

Stem = Literal["small", "imagenet"]
Scope = Literal["all", "last_block"]
TRAINABLE_IN_LAST_BLOCK = ("denseblock4", "norm5")
# torchvision's published DenseNet files use the old "norm.1" key style.
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _rename_old_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    renamed = {}
    for key, value in state.items():
        match = _OLD_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = value
    return renamed


class FERDenseNet(DenseNet):
    """torchvision's DenseNet whose frozen feature layers stay in eval mode (fixed batch-norm statistics)."""

    def __init__(self, num_classes: int, frozen: tuple[str, ...] = ()) -> None:
        super().__init__(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, num_classes=num_classes)
        self.frozen = frozen

    def freeze(self, names: tuple[str, ...]) -> None:
        self.frozen = names
        for name in names:
            self.features.get_submodule(name).requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> FERDenseNet:
        super().train(mode)
        for name in self.frozen:
            self.features.get_submodule(name).eval()
        return self


class DenseNet121(ModelPlugin):
    description = "torchvision DenseNet121, stride-1 stem (train_scope=all|last_block)."
    supports_pretrained: ClassVar[bool] = True

    def __init__(self, stem: Stem = "small", train_scope: Scope = "all", pretrained: str | None = None) -> None:
        super().__init__(stem=stem, train_scope=train_scope, pretrained=pretrained)
        self.stem, self.train_scope, self.pretrained = stem, train_scope, normalize_source(pretrained)

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        from torchvision.models import DenseNet121_Weights

        model = FERDenseNet(num_classes)
        stride = 1 if self.stem == "small" else 2
        model.features.conv0 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=stride, padding=3, bias=False)
        nn.init.kaiming_normal_(model.features.conv0.weight)
        report = load_pretrained(
            model,
            self.pretrained,
            model_name="densenet121",
            first_conv="features.conv0",
            url=DenseNet121_Weights.IMAGENET1K_V1.url,
            rename=_rename_old_keys,
        )
        if self.train_scope == "last_block":
            model.freeze(tuple(name for name, _ in model.features.named_children() if name not in TRAINABLE_IN_LAST_BLOCK))
            self._warn_if_frozen_random(model, report)
        return model

    @staticmethod
    def _warn_if_frozen_random(model: nn.Module, report: PretrainedReport) -> None:
        if report.from_scratch and next(model.parameters()).device.type != "meta":
            say_once(
                "densenet121:frozen-random",
                "densenet121: train_scope=last_block without pretrained weights freezes randomly initialised layers; "
                "only denseblock4, norm5 and the classifier will learn",
            )
