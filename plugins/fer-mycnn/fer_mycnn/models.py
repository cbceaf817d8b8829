from __future__ import annotations

from torch import nn

from fer_core.api import ModelPlugin


def conv_block(c_in: int, c_out: int, convs: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    layers += [nn.MaxPool2d(2), nn.Dropout2d(dropout) if dropout else nn.Identity()]
    return nn.Sequential(*layers)


class PlainCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: list[int], convs: int, dropout: float, hidden: int) -> None:
        super().__init__()
        blocks, c = [], in_channels
        for w in widths:
            blocks.append(conv_block(c, w, convs, dropout))
            c = w
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes)
        )

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


class MyCNNv1(ModelPlugin):
    description = "Tiny baseline: 3 conv blocks (16-32-64), GAP, small head."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return PlainCNN(in_channels, num_classes, [16, 32, 64], convs=1, dropout=0.0, hidden=64)
