"""Multi-Branch CNN: shape and texture paths fused before the classifier.

* texture path: 3x3 convs from full resolution, for fine local detail (wrinkles, teeth, eye corners);
* shape path: fixed Sobel edges (x, y, magnitude) of the channel-mean image, average-pooled to half
  resolution, then 5x5 and dilated 3x3 convs, for the layout of brows, eyes and mouth;
* fusion: global-average-pooled features of both paths are concatenated and go to an MLP head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError

SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def conv_bn_relu(c_in: int, c_out: int, kernel: int = 3, dilation: int = 1) -> list[nn.Module]:
    padding = dilation * (kernel - 1) // 2
    return [nn.Conv2d(c_in, c_out, kernel, padding=padding, dilation=dilation, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SobelEdges(nn.Module):
    """(B, C, H, W) -> (B, 3, H, W): horizontal and vertical gradients of the channel mean and their magnitude."""

    def __init__(self) -> None:
        super().__init__()
        gx = torch.tensor(SOBEL_X)
        self.register_buffer("kernels", torch.stack([gx, gx.t()]).unsqueeze(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gray = x.mean(dim=1, keepdim=True)
        grad = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), self.kernels)
        magnitude = torch.sqrt(grad.pow(2).sum(dim=1, keepdim=True) + 1e-6)
        return torch.cat([grad, magnitude], dim=1)


class MultiBranchNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.texture = nn.Sequential(
            *conv_bn_relu(in_channels, w // 2),
            *conv_bn_relu(w // 2, w),
            nn.MaxPool2d(2),
            *conv_bn_relu(w, 2 * w),
            nn.MaxPool2d(2),
            *conv_bn_relu(2 * w, 3 * w),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.edges = SobelEdges()
        self.shape = nn.Sequential(
            nn.AvgPool2d(2),
            *conv_bn_relu(3, w, kernel=5),
            nn.MaxPool2d(2),
            *conv_bn_relu(w, 2 * w, dilation=2),
            nn.MaxPool2d(2),
            *conv_bn_relu(2 * w, 3 * w, dilation=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(6 * w, 4 * w), nn.ReLU(inplace=True), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.texture(x), self.shape(self.edges(x))], dim=1))


class MultiBranchCNN(ModelPlugin):
    description = "Texture path + Sobel-edge shape path, fused by concat."

    def __init__(self, width: int = 32, dropout: float = 0.3) -> None:
        if width < 2 or width % 2 or not 0 <= dropout < 1:
            raise UsageError(f"multibranch: need an even width >= 2 and 0 <= dropout < 1, got width={width}, dropout={dropout}")
        super().__init__(width=width, dropout=dropout)
        self.width, self.dropout = width, dropout

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return MultiBranchNet(in_channels, num_classes, width=self.width, dropout=self.dropout)
