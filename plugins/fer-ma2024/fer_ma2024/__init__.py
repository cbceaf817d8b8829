"""Ma2024CNN: five conv blocks 32-64-128-256-512 (3x3 conv, BN, ReLU; max-pool after the first four),
flatten, FC 1024, dropout 0.5, FC classes. See README.md for the source and the choices made."""

from __future__ import annotations

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError

WIDTHS = (32, 64, 128, 256, 512)
POOLED_BLOCKS = 4


def conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class Ma2024Net(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, input_size: int, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i, width in enumerate(WIDTHS):
            layers += conv_bn_relu(c, width)
            if i < POOLED_BLOCKS:
                layers.append(nn.MaxPool2d(2))
            c = width
        self.features = nn.Sequential(*layers)
        side = input_size // 2**POOLED_BLOCKS
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class Ma2024CNN(ModelPlugin):
    description = "Ma (2024) benchmark CNN: 5 conv blocks 32-512, FC 1024."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        if input_size < 2**POOLED_BLOCKS:
            raise UsageError(f"ma2024: input size must be at least {2**POOLED_BLOCKS}, got {input_size}")
        return Ma2024Net(in_channels, num_classes, input_size)
