"""ResNet18 from torchvision with a grayscale stem sized for small faces."""

from __future__ import annotations

from typing import ClassVar, Literal

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.pretrained import load_pretrained, normalize_source

Stem = Literal["imagenet", "cifar"]


class ResNet18(ModelPlugin):
    description = "torchvision ResNet18, grayscale stem (stem=imagenet|cifar)."
    supports_pretrained: ClassVar[bool] = True

    def __init__(self, stem: Stem = "imagenet", pretrained: str | None = None) -> None:
        super().__init__(stem=stem, pretrained=pretrained)
        self.stem, self.pretrained = stem, normalize_source(pretrained)

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        from torchvision.models import ResNet18_Weights, resnet18

        model = resnet18(weights=None, num_classes=num_classes)
        if self.stem == "cifar":
            model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
            model.maxpool = nn.Identity()
        else:
            model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
        load_pretrained(model, self.pretrained, model_name="resnet18", first_conv="conv1", url=ResNet18_Weights.IMAGENET1K_V1.url)
        return model
