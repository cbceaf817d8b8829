"""Shared pieces of the fer bench tests: a tiny demo dataset and models that fail in known ways."""

from __future__ import annotations

from functools import cache

import torch
from torch import nn

from fer_core.api import Dataset, ModelPlugin
from fer_core.data.loading import load_dataset

FAST = {"threads": 1, "batch_size": 32}


@cache
def tiny_demo() -> Dataset:
    return load_dataset("demo", options={"train": 140, "val": 70, "test": 70})


class _NanNet(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(1, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(1, 2, 3)).unsqueeze(1)) * float("nan")


class _OutOfMemoryNet(_NanNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise MemoryError("simulated out of memory")


class NanModel(ModelPlugin):
    description = "Test model whose logits are NaN: training diverges."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return _NanNet(num_classes)


class OutOfMemoryModel(ModelPlugin):
    description = "Test model that runs out of memory in its first forward pass."

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        return _OutOfMemoryNet(num_classes)


def register_failing_models() -> None:
    from fer_core.registry import get_registry

    registry = get_registry()
    registry.add_object("models", "nan_model", NanModel, distribution="tests")
    registry.add_object("models", "oom_model", OutOfMemoryModel, distribution="tests")
