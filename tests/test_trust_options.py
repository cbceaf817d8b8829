"""Plugin options are checked before any work: ``Registry.check_options`` binds and types them as ``create`` would,
without creating the plugin (issue 18: a bad ``--balancer-opt`` reported only after balancing)."""

from __future__ import annotations

from typing import Literal

import pytest

from fer_core.api import Balanced, Balancer, TrainSet
from fer_core.errors import UnknownPluginError, UsageError
from fer_core.registry import get_registry


class _Counting(Balancer):
    description = "counts how often it is created"
    provides = frozenset({"resampled"})
    created = 0

    def __init__(self, mode: Literal["sampler", "loss"] = "sampler", k_neighbors: int = 5) -> None:
        type(self).created += 1
        super().__init__(mode=mode, k_neighbors=k_neighbors)

    def balance(self, train: TrainSet, *, seed: int = 0) -> Balanced:
        return Balanced(train.images, train.labels)


@pytest.fixture
def counting(plugins):
    _Counting.created = 0
    plugins.add("balancers", "counting", _Counting)
    return get_registry()


def test_check_options_types_them_without_creating_the_plugin(counting):
    assert counting.check_options("balancers", "counting", {"mode": "loss", "k_neighbors": "3"}) == {"mode": "loss", "k_neighbors": 3}
    assert _Counting.created == 0


def test_check_options_refuses_a_bad_value_in_the_line_create_would_give(counting):
    with pytest.raises(UsageError) as checked:
        counting.check_options("balancers", "counting", {"mode": "bogus"})
    with pytest.raises(UsageError) as created:
        counting.create("balancers", "counting", mode="bogus")
    assert str(checked.value) == str(created.value) == "balancer 'counting': option 'mode' expects one of sampler, loss, got 'bogus'"
    assert _Counting.created == 0


def test_check_options_suggests_the_option_a_prefix_abbreviates(counting):
    with pytest.raises(UsageError, match=r"unknown option 'k'; valid: mode, k_neighbors \(did you mean 'k_neighbors'\?\)"):
        counting.check_options("balancers", "counting", {"k": "3"})


def test_check_options_of_an_unknown_plugin_is_the_unknown_plugin_line(counting):
    with pytest.raises(UnknownPluginError, match=r"unknown balancer 'countnig'; did you mean counting"):
        counting.check_options("balancers", "countnig", {})


def test_the_installed_smote_and_weighted_options_are_checked_up_front():
    registry = get_registry()
    assert registry.check_options("balancers", "smote", {"k_neighbors": "3"}) == {"k_neighbors": 3}
    with pytest.raises(UsageError, match=r"balancer 'smote': unknown option 'k'.*did you mean 'k_neighbors'"):
        registry.check_options("balancers", "smote", {"k": "3"})
    with pytest.raises(UsageError, match=r"balancer 'weighted': option 'mode' expects one of sampler, loss, got 'bogus'"):
        registry.check_options("balancers", "weighted", {"mode": "bogus"})
