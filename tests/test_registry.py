import json
import sys
from importlib.metadata import EntryPoint
from typing import ClassVar

import pytest

from fer_core.api import ModelPlugin
from fer_core.errors import PluginLoadError, UnknownPluginError
from fer_core.registry import Registry, get_registry

GOOD_MODEL = """
from torch import nn
from fer_core.api import ModelPlugin

class Model(ModelPlugin):
    description = "fake"
    def build(self, num_classes, in_channels=1, input_size=48):
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * input_size * input_size, num_classes))
"""


def test_installed_plugins_come_from_their_own_distributions():
    registry = get_registry()
    models = {e.name: e.distribution for e in registry.entries("models")}
    balancers = {e.name: e.distribution for e in registry.entries("balancers")}
    assert models["mycnn_v1"] == "fer-mycnn"
    assert balancers["weighted"] == "fer-weighted"
    assert balancers["none"] == "fer-core"


def test_broken_plugin_is_isolated(bare_plugins):
    bare_plugins.install(
        "fer-broken", {"fer.models": {"broken": "fer_broken_mod:Model"}}, {"fer_broken_mod": "raise RuntimeError('boom at import')\n"}
    )
    bare_plugins.install("fer-good", {"fer.models": {"good": "fer_good_mod:Model"}}, {"fer_good_mod": GOOD_MODEL})
    registry = bare_plugins.registry
    entries = {e.name: e for e in registry.load_all("models")}
    assert entries["broken"].status == "broken"
    assert entries["broken"].error == "RuntimeError: boom at import"
    assert entries["good"].status == "ok"
    assert registry.select("models", "all") == ["good"]
    with pytest.raises(PluginLoadError, match="boom at import"):
        registry.load("models", "broken")


def test_listing_names_imports_no_plugin_code(bare_plugins):
    bare_plugins.install("fer-good", {"fer.models": {"good": "fer_lazy_mod:Model"}}, {"fer_lazy_mod": GOOD_MODEL})
    registry = bare_plugins.registry
    assert registry.names("models") == ["good"]
    assert "fer_lazy_mod" not in sys.modules
    registry.get("models", "good")
    assert "fer_lazy_mod" in sys.modules


def test_duplicate_names_across_distributions_are_reported(bare_plugins):
    bare_plugins.install("fer-one", {"fer.models": {"Twin": "fer_one_mod:Model"}}, {"fer_one_mod": GOOD_MODEL})
    bare_plugins.install("fer-two", {"fer.models": {"twin": "fer_two_mod:Model"}}, {"fer_two_mod": GOOD_MODEL})
    registry = bare_plugins.registry
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


def test_incompatible_api_version_is_refused(bare_plugins):
    source = GOOD_MODEL + "\nModel.api_version = 99\n"
    bare_plugins.install("fer-future", {"fer.models": {"future": "fer_future_mod:Model"}}, {"fer_future_mod": source})
    (entry,) = bare_plugins.registry.load_all("models")
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


EXITS_AT_IMPORT = "import sys\nsys.exit(3)\n"
INTERRUPTS_AT_IMPORT = "raise KeyboardInterrupt\n"
EXITS_IN_BUILD = GOOD_MODEL.replace("        return nn.Sequential", "        import sys\n        sys.exit(4)\n        return nn.Sequential")
NOT_A_MODEL = """
from fer_core.api import Balanced, Balancer

class Model(Balancer):
    description = "a balancer registered as a model"
    def balance(self, train, *, seed=0):
        return Balanced(train.images, train.labels)

def function():
    return None
"""


def test_an_entry_that_is_not_of_its_kind_is_broken(bare_plugins):
    bare_plugins.install(
        "fer-mixed-up",
        {"fer.models": {"balancer_as_model": "fer_mixed_mod:Model", "function_as_model": "fer_mixed_mod:function"}},
        {"fer_mixed_mod": NOT_A_MODEL},
    )
    entries = {e.name: e for e in bare_plugins.registry.load_all("models")}
    assert entries["balancer_as_model"].status == "broken"
    assert entries["balancer_as_model"].error == (
        "fer_mixed_mod:Model: Model is a balancer plugin (Balancer), not a fer_core.api.ModelPlugin subclass"
    )
    assert entries["function_as_model"].error == "fer_mixed_mod:function: not a class but function (a model plugin is a class)"
    with pytest.raises(PluginLoadError, match=r"not a fer_core\.api\.ModelPlugin subclass"):
        bare_plugins.registry.create("models", "balancer_as_model")
    assert bare_plugins.registry.select("models", "all") == []
    assert bare_plugins.add("models", "odd", object()).status == "broken"


def test_sys_exit_and_keyboard_interrupt_at_import_make_a_plugin_broken_not_fer(bare_plugins):
    bare_plugins.install("fer-exits", {"fer.models": {"exits": "fer_exits_mod:Model"}}, {"fer_exits_mod": EXITS_AT_IMPORT})
    bare_plugins.install("fer-stops", {"fer.models": {"stops": "fer_stops_mod:Model"}}, {"fer_stops_mod": INTERRUPTS_AT_IMPORT})
    bare_plugins.install("fer-good", {"fer.models": {"good": "fer_good2_mod:Model"}}, {"fer_good2_mod": GOOD_MODEL})
    entries = {e.name: e for e in bare_plugins.registry.load_all("models")}
    assert entries["exits"].status == "broken" and entries["exits"].error == "importing fer_exits_mod:Model called sys.exit(3)"
    assert entries["stops"].status == "broken"
    assert entries["stops"].error == "importing fer_stops_mod:Model raised KeyboardInterrupt (not a Ctrl-C)"
    assert bare_plugins.registry.select("models", "all") == ["good"]


def test_sys_exit_in_build_is_one_error_line_and_fer_list_marks_it_broken(bare_plugins):
    from fer_core.listing import describe_plugins

    bare_plugins.install(
        "fer-exit-build", {"fer.models": {"exit_build": "fer_exit_build_mod:Model"}}, {"fer_exit_build_mod": EXITS_IN_BUILD}
    )
    model = bare_plugins.registry.create("models", "exit_build")
    with pytest.raises(PluginLoadError) as info:
        model.build(7)
    assert str(info.value) == "model plugin fer_exit_build_mod:Model: build() called sys.exit(4)"
    (row,) = describe_plugins(["models"], registry=bare_plugins.registry)
    assert row["status"] == "broken" and row["error"] == "model plugin fer_exit_build_mod:Model: build() called sys.exit(4)"


@pytest.fixture
def sigint_disposition():
    """Set SIGINT's handler for one test: a job started with ``&`` inherits SIGINT ignored."""
    import signal

    original = signal.getsignal(signal.SIGINT)

    def set_to(handler):
        signal.signal(signal.SIGINT, handler)
        return handler

    yield set_to
    signal.signal(signal.SIGINT, original)


def _send_sigint_and_spin():
    import os
    import signal

    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10**7):  # the handler runs between bytecodes
        pass


def test_a_real_ctrl_c_inside_plugin_code_still_interrupts(sigint_disposition):
    import signal

    from fer_core.plugin_calls import guarded

    before = sigint_disposition(signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt), guarded("test code"):
        _send_sigint_and_spin()
    assert signal.getsignal(signal.SIGINT) is before


def test_plugin_code_keeps_an_ignored_sigint_ignored(sigint_disposition):
    import signal

    from fer_core.plugin_calls import guarded

    sigint_disposition(signal.SIG_IGN)
    with guarded("test code"):
        _send_sigint_and_spin()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_third_party_reusing_a_built_in_name_is_listed_and_the_built_in_keeps_working(plugins):
    from fer_mycnn.models import MyCNNv1

    from fer_core.listing import describe_plugins

    plugins.install(
        "fer-impostor", {"fer.models": {"mycnn_v1": "fer_impostor_mod:Model"}}, {"fer_impostor_mod": "raise ImportError('no')\n"}
    )
    rows = [r for r in describe_plugins(["models"], params=False) if r["name"] == "mycnn_v1"]
    assert [(r["distribution"], r["status"]) for r in rows] == [("fer-impostor", "broken"), ("fer-mycnn", "ok")]
    assert plugins.registry.get("models", "mycnn_v1") is MyCNNv1
    assert plugins.registry.select("models", "mycnn_v*").count("mycnn_v1") == 1
    ensemble = plugins.registry.create("models", "ensemble")  # its default members include mycnn_v1
    assert ensemble.build(7) is not None


def test_two_healthy_plugins_of_one_name_are_a_duplicate_naming_both(plugins):
    plugins.install("fer-twin", {"fer.models": {"mycnn_v2": "fer_twin_mod:Model"}}, {"fer_twin_mod": GOOD_MODEL})
    with pytest.raises(PluginLoadError) as info:
        plugins.registry.get("models", "mycnn_v2")
    assert "is duplicate: name also registered by" in str(info.value)
    assert "fer-twin (fer_twin_mod:Model)" in str(info.value) or "fer-mycnn" in str(info.value)
    assert "mycnn_v2" not in plugins.registry.select("models", "all")


def test_a_wildcard_whose_only_match_is_broken_says_so(bare_plugins):
    bare_plugins.install(
        "fer-broken", {"fer.models": {"broken_net": "fer_broken3_mod:Model"}}, {"fer_broken3_mod": "raise ImportError('libfoo')\n"}
    )
    with pytest.raises(PluginLoadError) as info:
        bare_plugins.registry.select("models", "broken*")
    assert str(info.value) == "no healthy models match 'broken*': broken_net (fer-broken) is broken: ImportError: libfoo"


def test_a_plugin_keeping_the_base_init_takes_no_options_and_declared_ones_are_typed():
    from fer_core.api import Augmenter
    from fer_core.errors import UsageError
    from fer_core.options import OptionSpec

    class Plain(ModelPlugin):
        description = "README example shape: no __init__"

        def build(self, num_classes, in_channels=1, input_size=48):
            raise NotImplementedError

    class Declared(Plain):
        options_schema: ClassVar = {"width": OptionSpec("width", int, 8)}

    with pytest.raises(UsageError, match="Plain: unknown option 'width'; it takes no options"):
        Plain(width="3")
    assert Declared(width="3").options == {"width": 3}
    registry = Registry([])
    registry.add_object("models", "plain", Plain)
    with pytest.raises(UsageError, match="model 'plain': unknown option 'bogus'"):
        registry.create("models", "plain", bogus="1")

    class NumpyOnly(Augmenter):
        def __call__(self, images, rng):
            return images

    class OnDevice(NumpyOnly):
        def augment_tensor(self, x, generator):
            return x

    assert not NumpyOnly.supports_tensor and not hasattr(NumpyOnly(), "augment_tensor")
    assert OnDevice.supports_tensor and hasattr(OnDevice(), "augment_tensor")


def test_fer_list_prints_every_plugin_when_one_exits_at_import_and_one_in_build(plugins):
    from tests.cli_support import run_fer_process

    plugins.install("fer-exits", {"fer.models": {"exits_on_import": "fer_exits2_mod:Model"}}, {"fer_exits2_mod": EXITS_AT_IMPORT})
    plugins.install("fer-stops", {"fer.balancers": {"stops_on_import": "fer_stops2_mod:Model"}}, {"fer_stops2_mod": INTERRUPTS_AT_IMPORT})
    plugins.install(
        "fer-exit-build", {"fer.models": {"exits_in_build": "fer_exit_build2_mod:Model"}}, {"fer_exit_build2_mod": EXITS_IN_BUILD}
    )
    listed = run_fer_process("list", "--json", env_extra=plugins.env)
    assert listed.code == 0, listed.err
    rows = {r["name"]: r for r in json.loads(listed.out)}
    assert rows["exits_on_import"]["status"] == rows["stops_on_import"]["status"] == rows["exits_in_build"]["status"] == "broken"
    assert rows["exits_on_import"]["error"] == "importing fer_exits2_mod:Model called sys.exit(3)"
    assert rows["exits_in_build"]["error"] == "model plugin fer_exit_build2_mod:Model: build() called sys.exit(4)"
    assert rows["mycnn_v1"]["status"] == "ok" and rows["weighted"]["status"] == "ok" and rows["haar"]["status"] == "ok"
    table = run_fer_process("list", env_extra={**plugins.env, "COLUMNS": "200"})
    assert table.code == 0 and "exits_on_import" in table.out and "mycnn_v1" in table.out and "Traceback" not in table.err
    trained = run_fer_process("train", "--model", "exits_in_build", "--data", "demo", "--epochs", "1", env_extra=plugins.env)
    errors = [line for line in trained.err.splitlines() if line.startswith("error:")]
    assert trained.code == 1 and "Traceback" not in trained.err
    assert errors == ["error: model plugin fer_exit_build2_mod:Model: build() called sys.exit(4)"]
