"""MyCNNv1..v6: plain CNNs (conv-BN-ReLU blocks, max-pool, dropout, global average pooling, small MLP head).

Each version is deeper or wider than the one before; v6 is the VGG-style network of
Khaireddin & Chen (2021): four stages of [3x3 conv, BN, ReLU] x2 with 64-128-256-512 channels.
Every version takes options that override its shape, e.g. ``--model-opt widths=[16,32,64,128]
--model-opt convs=[1,2,2,2]`` (the fer-fast reference network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError


@dataclass(frozen=True)
class PlainSpec:
    widths: tuple[int, ...]
    convs: int | tuple[int, ...]
    dropout: float
    hidden: int


def conv_block(c_in: int, c_out: int, convs: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    layers += [nn.MaxPool2d(2), nn.Dropout2d(dropout) if dropout else nn.Identity()]
    return nn.Sequential(*layers)


class PlainCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: list[int], convs: list[int], dropout: float, hidden: int) -> None:
        super().__init__()
        blocks, c = [], in_channels
        for w, n in zip(widths, convs, strict=True):
            blocks.append(conv_block(c, w, n, dropout))
            c = w
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes)
        )

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


def _positive_ints(name: str, value: Any) -> list[int]:
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise UsageError(f"{name} must be a positive integer or a list of them, not {value!r}")
    return list(values)


class _MyCNN(ModelPlugin):
    spec: ClassVar[PlainSpec]

    def __init__(
        self,
        widths: list[int] | None = None,
        convs: int | list[int] | None = None,
        dropout: float | None = None,
        hidden: int | None = None,
    ) -> None:
        given = {"widths": widths, "convs": convs, "dropout": dropout, "hidden": hidden}
        super().__init__(**{k: v for k, v in given.items() if v is not None})
        s = self.spec
        self.widths = _positive_ints("widths", list(s.widths) if widths is None else widths)
        per_stage = _positive_ints("convs", s.convs if convs is None else convs)
        if len(per_stage) not in (1, len(self.widths)):
            raise UsageError(f"convs must be one integer or one per stage ({len(self.widths)}), not {len(per_stage)}")
        self.convs = per_stage * len(self.widths) if len(per_stage) == 1 else per_stage
        self.hidden = _positive_ints("hidden", s.hidden if hidden is None else hidden)[0]
        self.dropout = float(s.dropout if dropout is None else dropout)
        if not 0 <= self.dropout < 1:
            raise UsageError(f"dropout must be in [0, 1), not {self.dropout}")

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return PlainCNN(in_channels, num_classes, self.widths, convs=self.convs, dropout=self.dropout, hidden=self.hidden)


class MyCNNv1(_MyCNN):
    description = "Tiny baseline: 3 conv blocks (16-32-64), GAP, small head."
    spec = PlainSpec(widths=(16, 32, 64), convs=1, dropout=0.0, hidden=64)


class MyCNNv2(_MyCNN):
    description = "v1 twice as wide: 3 conv blocks (32-64-128), dropout 0.1."
    spec = PlainSpec(widths=(32, 64, 128), convs=1, dropout=0.1, hidden=128)


class MyCNNv3(_MyCNN):
    description = "v2 twice as deep: 3 stages of 2 convs (32-64-128)."
    spec = PlainSpec(widths=(32, 64, 128), convs=2, dropout=0.1, hidden=128)


class MyCNNv4(_MyCNN):
    description = "v3 plus a fourth stage: 4 stages of 2 convs (32-64-128-256)."
    spec = PlainSpec(widths=(32, 64, 128, 256), convs=2, dropout=0.2, hidden=256)


class MyCNNv5(_MyCNN):
    description = "v4 1.5x wider: 4 stages of 2 convs (48-96-192-384)."
    spec = PlainSpec(widths=(48, 96, 192, 384), convs=2, dropout=0.25, hidden=256)


class MyCNNv6(_MyCNN):
    description = "VGG-style (Khaireddin & Chen 2021): 4 stages of 2 convs (64-128-256-512)."
    spec = PlainSpec(widths=(64, 128, 256, 512), convs=2, dropout=0.25, hidden=512)
