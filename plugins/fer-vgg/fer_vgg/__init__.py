"""VGG16 from torchvision whose head fits 48x48 input.

torchvision's head pools the feature map to 7x7 and feeds a 25,088-wide FC layer; at 48x48 the
five max-pools leave a 1x1 map, so that head sees 49 copies of one vector. Here global average
pooling feeds 512 -> 256 -> classes with dropout, and any input of at least 32x32 works.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError
from fer_core.pretrained import load_pretrained, normalize_source

Norm = Literal["none", "batch"]


class VGG16(ModelPlugin):
    description = "torchvision VGG16 with a GAP head for 48x48 (norm=none|batch)."
    supports_pretrained: ClassVar[bool] = True

    def __init__(self, norm: Norm = "none", hidden: int = 256, dropout: float = 0.5, pretrained: str | None = None) -> None:
        super().__init__(norm=norm, hidden=hidden, dropout=dropout, pretrained=pretrained)
        self._keep("vgg16", norm, hidden, dropout, pretrained)

    def _keep(self, name: str, norm: Norm, hidden: int, dropout: float, pretrained: str | None) -> None:
        if hidden < 1 or not 0 <= dropout < 1:
            raise UsageError(f"{name}: need hidden >= 1 and 0 <= dropout < 1, got hidden={hidden}, dropout={dropout}")
        self.norm, self.hidden, self.dropout = norm, hidden, dropout
        self.pretrained = normalize_source(pretrained)

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        from torchvision.models import VGG16_BN_Weights, VGG16_Weights

        batch_norm = self.norm == "batch"
        model = VGG16Faces(in_channels, num_classes, batch_norm=batch_norm, hidden=self.hidden, dropout=self.dropout)
        url = (VGG16_BN_Weights if batch_norm else VGG16_Weights).IMAGENET1K_V1.url
        load_pretrained(model, self.pretrained, model_name="vgg16_bn" if batch_norm else "vgg16", first_conv="features.0", url=url)
        return model


class VGG16BN(VGG16):
    """``vgg16`` with ``norm=batch`` under its own name, as torchvision's ``vgg16_bn``.

    A grid names models, not options. Trained from scratch on CK+ (AdamW), plain VGG16 stayed at chance at lr 3e-3
    and 1e-3 and learned slowly at 3e-4, where this variant trained well (benchmarks/ckplus_vgg16_probe/).
    """

    description = "torchvision VGG16-BN (vgg16 with norm=batch) with a GAP head for 48x48."

    def __init__(self, hidden: int = 256, dropout: float = 0.5, pretrained: str | None = None) -> None:
        ModelPlugin.__init__(self, hidden=hidden, dropout=dropout, pretrained=pretrained)
        self._keep("vgg16_bn", "batch", hidden, dropout, pretrained)


class VGG16Faces(nn.Module):
    """torchvision's VGG16 feature layers (same parameter names, so ImageNet weights load) and a GAP head.

    torchvision's ``VGG`` class is not used because it always builds and initialises the 120M-parameter
    ImageNet head first, which makes every build take seconds.
    """

    def __init__(self, in_channels: int, num_classes: int, *, batch_norm: bool, hidden: int, dropout: float) -> None:
        from torchvision.models.vgg import cfgs, make_layers

        super().__init__()
        self.features = make_layers(cfgs["D"], batch_norm=batch_norm)
        first = self.features[0]
        self.features[0] = nn.Conv2d(in_channels, first.out_channels, kernel_size=3, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(512, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self._init_like_torchvision()

    def _init_like_torchvision(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))
