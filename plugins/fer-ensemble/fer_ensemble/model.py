"""The ensemble model plugin: members are other registered models, built with their own options."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fer_core.api import ModelPlugin
from fer_core.errors import UsageError

DEFAULT_MEMBERS = ({"model": "mycnn_v1"}, {"model": "mycnn_v2"})


class EnsembleModule(nn.Module):
    """Returns log(mean softmax): softmax of the output is the members' average probability, so it works as logits."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probabilities = torch.stack([torch.softmax(m(x).float(), dim=1) for m in self.members]).mean(0)
        return torch.log(probabilities.clamp_min(1e-12))


def _member_specs(members: Any) -> list[dict[str, Any]]:
    if not isinstance(members, list | tuple) or not members:
        raise UsageError("ensemble: members must be a non-empty list of {'model': NAME, 'options': {...}}")
    specs = []
    for member in members:
        if not isinstance(member, dict) or not isinstance(member.get("model"), str) or member["model"] == "ensemble":
            raise UsageError(f"ensemble: each member needs a 'model' name other than ensemble, got {member!r}")
        options = member.get("options", {})
        if not isinstance(options, dict):
            raise UsageError(f"ensemble: options of member {member['model']} must be a mapping, got {options!r}")
        specs.append({"model": member["model"], "options": dict(options)})
    return specs


class Ensemble(ModelPlugin):
    description = "Mean class probability of several models (members=[{model, options}]); build one with python -m fer_ensemble."
    is_meta = True  # made of other registered models: `--models all` leaves it out

    def __init__(self, members: list[dict[str, Any]] | None = None) -> None:
        specs = _member_specs(list(DEFAULT_MEMBERS) if members is None else members)
        super().__init__(members=specs)
        self.members = specs

    def build(self, num_classes: int, in_channels: int = 1, input_size: int = 48) -> nn.Module:
        from fer_core.registry import get_registry

        registry = get_registry()
        built = [registry.create("models", m["model"], **m["options"]).build(num_classes, in_channels, input_size) for m in self.members]
        return EnsembleModule(built)
