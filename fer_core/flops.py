"""Model cost in multiply-adds, counted by torch's own FLOP counter.

``count_flops`` returns multiply-accumulates (MACs): one multiply plus one add
counts once, the convention of torchvision's and timm's model tables (ResNet18
at 224x224 is 1.8 G). ``torch.utils.flop_counter`` counts 2 per multiply-add,
so its total is halved. Only convolutions, matrix products and attention are
counted; batch norm, activations and pooling are not (they cost little and are
memory-bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one forward pass of ``model`` on a zero tensor of ``input_shape`` (batch included)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(*input_shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def macs_per_image(model: nn.Module, in_channels: int = 1, input_size: int = 48) -> int:
    """Multiply-adds for one ``in_channels`` x ``input_size`` x ``input_size`` image."""
    return count_flops(model, (1, in_channels, input_size, input_size))
