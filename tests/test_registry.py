import sys
from importlib.metadata import EntryPoint, distributions

import pytest

from fer_core.api import ModelPlugin
from fer_core.errors import PluginLoadError, UnknownPluginError
from fer_core.registry import Registry, get_registry
from tests.fakedist import make_distribution

GOOD_MODEL = """
from torch import nn
from fer_core.api import ModelPlugin

class Model(ModelPlugin):
    description = "fake"
    def build(self, num_classes, in_channels=1, input_size=48):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size * input_size, num_classes))
"""


def _registry_from(tmp_path, monkeypatch, dists):
    site = tmp_path / "site"
    for name, eps, modules in dists:
        make_distribution(site, name, eps, modules)
    monkeypatch.syspath_prepend(str(site))
    eps = [ep for d in distributions(path=[str(site)]) for ep in d.entry_points]
    return Registry(eps)


def test_installed_plugins_come_from_their_own_distributions():
    registry = get_registry()
    models = {e.name: e.distribution for e in registry.entries("models")}
    balancers = {e.name: e.distribution for e in registry.entries("balancers")}
    assert models["mycnn_v1"] == "fer-mycnn"
    assert balancers["weighted"] == "fer-weighted"
    assert balancers["none"] == "fer-core"


def test_broken_plugin_is_isolated(tmp_path, monkeypatch):
    registry = _registry_from(
        tmp_path,
        monkeypatch,
        [
            (
                "fer-broken",
                {"fer.models": {"broken": "fer_broken_mod:Model"}},
                {"fer_broken_mod": "raise RuntimeError('boom at import')\n"},
            ),
            ("fer-good", {"fer.models": {"good": "fer_good_mod:Model"}}, {"fer_good_mod": GOOD_MODEL}),
        ],
    )
    entries = {e.name: e for e in registry.load_all("models")}
    assert entries["broken"].status == "broken"
    assert entries["broken"].error == "RuntimeError: boom at import"
    assert entries["good"].status == "ok"
    assert registry.select("models", "all") == ["good"]
    with pytest.raises(PluginLoadError, match="boom at import"):
        registry.load("models", "broken")


def test_listing_names_imports_no_plugin_code(tmp_path, monkeypatch):
    registry = _registry_from(
        tmp_path, monkeypatch, [("fer-good", {"fer.models": {"good": "fer_lazy_mod:Model"}}, {"fer_lazy_mod": GOOD_MODEL})]
    )
    assert registry.names("models") == ["good"]
    assert "fer_lazy_mod" not in sys.modules
    registry.get("models", "good")
    assert "fer_lazy_mod" in sys.modules


def test_duplicate_names_across_distributions_are_reported(tmp_path, monkeypatch):
    registry = _registry_from(
        tmp_path,
        monkeypatch,
        [
            ("fer-one", {"fer.models": {"Twin": "fer_one_mod:Model"}}, {"fer_one_mod": GOOD_MODEL}),
            ("fer-two", {"fer.models": {"twin": "fer_two_mod:Model"}}, {"fer_two_mod": GOOD_MODEL}),
        ],
    )
    one, two = registry.load_all("models")
    assert (one.distribution, two.distribution) == ("fer-one", "fer-two")
    assert one.status == two.status == "duplicate"
    assert "fer-two (fer_two_mod:Model)" in one.error and "fer-one (fer_one_mod:Model)" in two.error
    with pytest.raises(PluginLoadError, match="duplicate"):
        registry.get("models", "twin")
    assert registry.select("models", "all") == []


def test_names_are_case_insensitive_and_wildcards_select():
    registry = Registry([])

    class Small(ModelPlugin):
        description = "s"

        def build(self, num_classes, in_channels=1, input_size=48):
            raise NotImplementedError

    for name in ("MyCNN_v1", "mycnn_v2", "other"):
        registry.add_object("models", name, Small)
    assert registry.get("models", "MYCNN_V1") is Small
    assert registry.select("models", "mycnn*") == ["MyCNN_v1", "mycnn_v2"]
    assert registry.select("models", "ALL") == ["MyCNN_v1", "mycnn_v2", "other"]
    assert registry.select("models", "other, mycnn_v2,other") == ["other", "mycnn_v2"]


def test_unknown_name_suggests_close_matches():
    registry = Registry([])
    registry.add_object("models", "mycnn_v1", ModelPlugin)
    with pytest.raises(UnknownPluginError, match=r"unknown model 'mycnn_v7'; did you mean mycnn_v1\?"):
        registry.get("models", "mycnn_v7")
    with pytest.raises(UnknownPluginError, match="no models match 'resnet\\*'"):
        registry.select("models", "resnet*")
    assert UnknownPluginError.exit_code == 2


def test_incompatible_api_version_is_refused(tmp_path, monkeypatch):
    source = GOOD_MODEL + "\nModel.api_version = 99\n"
    registry = _registry_from(
        tmp_path, monkeypatch, [("fer-future", {"fer.models": {"future": "fer_future_mod:Model"}}, {"fer_future_mod": source})]
    )
    (entry,) = registry.load_all("models")
    assert entry.status == "incompatible"
    assert "API 99" in entry.error


def test_namespace_entry_point_resolves_subnames():
    registry = Registry(
        [EntryPoint(name="zoo/*", value="tests.test_registry:_resolve_zoo", group="fer.models")],
    )
    assert registry.get("models", "zoo/tiny").description == "zoo model tiny"
    with pytest.raises(UnknownPluginError, match="no zoo model 'huge'"):
        registry.get("models", "zoo/huge")
    assert registry.select("models", "zoo/tiny") == ["zoo/tiny"]


def _resolve_zoo(name):
    if name != "tiny":
        raise KeyError(f"no zoo model '{name}'")
    return type("Tiny", (ModelPlugin,), {"description": f"zoo model {name}", "build": lambda self, *a, **k: None})
