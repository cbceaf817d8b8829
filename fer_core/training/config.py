"""The recipe of one training run, as a frozen, hashable, JSON-round-trippable value."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fer_core.errors import UsageError

AUGMENT_PRESETS = ("none", "light", "standard", "strong")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "plateau", "none")
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
# Fields that change how fast a run goes (and the last bits of the floats), not the recipe.
_NOT_HASHED = ("threads", "device")


@dataclass(frozen=True)
class TrainConfig:
    model: str
    model_options: dict[str, Any] = field(default_factory=dict)
    balancer: str = "none"
    balancer_options: dict[str, Any] = field(default_factory=dict)
    augment: str = "standard"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "cosine"
    label_smoothing: float = 0.0
    patience: int = 3
    seed: int = 0
    time_budget_s: float | None = None  # a cap on training seconds: no epoch starts that, judging by the last, would end past it
    input_size: int | None = None
    channels: int = 1
    channels_last: bool = True
    threads: int | None = None
    precision: str = "fp32"  # bf16: autocast in training (GPUs, CPUs with AVX512-BF16/AMX); evaluation stays fp32
    device: str = "auto"  # auto: the first CUDA GPU when torch sees one, else the CPU; cuda:N picks a GPU

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            problems.append(f"batch size must be >= 2, got {self.batch_size}")
        if not self.lr > 0:
            problems.append(f"learning rate must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            problems.append(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got '{self.optimizer}'")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {', '.join(SCHEDULES)}, got '{self.schedule}'")
        if not 0 <= self.label_smoothing < 1:
            problems.append(f"label smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.patience < 0:
            problems.append(f"patience must be >= 0, got {self.patience}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            problems.append(f"time budget must be > 0 seconds, got {self.time_budget_s}")
        if self.input_size is not None and self.input_size < 8:
            problems.append(f"input size must be >= 8, got {self.input_size}")
        if self.channels not in (1, 3):
            problems.append(f"channels must be 1 or 3, got {self.channels}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.device not in DEVICES and not _is_cuda_index(self.device):
            problems.append(f"device must be one of {', '.join(DEVICES)} or cuda:N, got '{self.device}'")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be >= 1, got {self.threads}")
        if problems:
            raise UsageError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown training config keys: {', '.join(unknown)}")
        return cls(**data)

    def config_hash(self) -> str:
        """A short, stable identity of the recipe (everything but the thread count)."""
        recipe = {k: v for k, v in self.to_dict().items() if k not in _NOT_HASHED}
        text = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _is_cuda_index(device: str) -> bool:
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()
