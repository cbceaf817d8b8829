"""Each zoo distribution is optional: without one (uninstalled or broken), every other model still works."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import pytest
import torch

from fer_core.errors import UnknownPluginError
from fer_core.registry import GROUPS, Registry

ZOO_DISTRIBUTIONS = ["fer-mycnn", "fer-resnet", "fer-vgg", "fer-densenet", "fer-ma2024", "fer-multibranch", "fer-timm"]


def installed_entry_points() -> list[EntryPoint]:
    return [ep for group in GROUPS.values() for ep in entry_points(group=group)]


def registry_without(distribution: str) -> Registry:
    """What the registry sees after `pip uninstall <distribution>`."""
    return Registry([ep for ep in installed_entry_points() if ep.dist is None or ep.dist.metadata["Name"] != distribution])


def zoo_models(registry: Registry) -> list[str]:
    return [e.name for e in registry.entries("models") if e.distribution in ZOO_DISTRIBUTIONS and not e.is_namespace]


@pytest.mark.parametrize("distribution", ZOO_DISTRIBUTIONS)
def test_removing_one_distribution_removes_only_its_models(distribution):
    full, reduced = Registry(), registry_without(distribution)
    gone = {e.name for e in full.entries("models") if e.distribution == distribution}
    assert gone, f"{distribution} registers no model"
    assert set(zoo_models(reduced)) == set(zoo_models(full)) - gone
    for name in zoo_models(reduced):
        assert reduced.load("models", name).status == "ok"
    for name in gone - {"timm/*"}:
        with pytest.raises(UnknownPluginError):
            reduced.get("models", name)


def test_without_fer_timm_every_other_model_builds_and_runs_and_timm_names_are_unknown():
    registry = registry_without("fer-timm")
    names = registry.select("models", "all")
    assert not any(n.startswith("timm/") for n in names)
    assert {"mycnn_v1", "mycnn_v6", "resnet18", "vgg16", "densenet121", "ma2024", "multibranch"} <= set(names)
    for name in names:
        model = registry.create("models", name).build(7, 1, 48).eval()
        with torch.no_grad():
            assert model(torch.zeros(1, 1, 48, 48)).shape == (1, 7), name
    with pytest.raises(UnknownPluginError, match="unknown model 'timm/efficientnet_b0'"):
        registry.get("models", "timm/efficientnet_b0")


def test_a_broken_timm_bridge_is_reported_and_the_rest_of_the_zoo_is_untouched():
    eps = [ep for ep in installed_entry_points() if ep.dist is None or ep.dist.metadata["Name"] != "fer-timm"]
    eps.append(EntryPoint(name="timm/*", value="fer_timm_not_installed:resolve", group="fer.models"))
    registry = Registry(eps)
    entries = {e.name: e for e in registry.load_all("models")}
    assert entries["timm/*"].status == "broken" and "ModuleNotFoundError" in entries["timm/*"].error
    assert all(e.status == "ok" for n, e in entries.items() if n != "timm/*")
    assert "resnet18" in registry.select("models", "all")
