"""fer_core.options: one KEY=VALUE reader, typed by the receiver's annotation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from fer_core.errors import UsageError
from fer_core.options import OptionSpec, bind_options, closest_match, coerce, describe_type, option_specs, parse_pairs


def test_parse_pairs_keeps_text_and_splits_on_the_first_equals():
    assert parse_pairs(["k=5", "expr=a=b", " name = x "], "--model-opt") == {"k": "5", "expr": "a=b", "name": "x"}


@pytest.mark.parametrize("pair", ["novalue", "=5", "  =x"])
def test_parse_pairs_rejects_a_pair_without_key_or_equals(pair):
    with pytest.raises(UsageError, match=r"--data-opt expects KEY=VALUE"):
        parse_pairs([pair], "--data-opt")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("no", False), ("off", False), ("0", False), ("False", False), ("yes", True), ("on", True), ("1", True), (True, True)],
)
def test_bool_words(raw, expected):
    assert coerce(raw, bool, name="cache", owner="demo") is expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2, None])
def test_bool_rejects_anything_else(raw):
    with pytest.raises(UsageError, match=r"demo: option 'cache' expects true or false"):
        coerce(raw, bool, name="cache", owner="demo")


def test_numbers_are_typed_and_must_be_finite():
    assert coerce("12", int, name="n", owner="o") == 12
    assert coerce(3.0, int, name="n", owner="o") == 3
    assert coerce("1e-3", float, name="lr", owner="o") == pytest.approx(1e-3)
    assert coerce(2, float, name="lr", owner="o") == 2.0
    for bad in ("nan", "inf", float("nan"), "abc", True):
        with pytest.raises(UsageError, match="expects a finite number"):
            coerce(bad, float, name="dropout", owner="mycnn_v1")
    with pytest.raises(UsageError, match="expects an integer"):
        coerce("1.5", int, name="n", owner="o")


def test_text_stays_text_even_when_it_looks_like_a_word():
    assert coerce("no", str, name="mode", owner="o") == "no"
    with pytest.raises(UsageError, match="expects text"):
        coerce(5, str, name="mode", owner="o")


def test_optional_accepts_none_words_and_the_member_type():
    assert coerce("none", int | None, name="size", owner="o") is None
    assert coerce(None, int | None, name="size", owner="o") is None
    assert coerce("64", int | None, name="size", owner="o") == 64
    assert coerce("3", int | str, name="x", owner="o") == 3
    assert coerce("abc", int | str, name="x", owner="o") == "abc"


def test_literal_lists_its_choices():
    mode = Literal["inverse", "sqrt"]
    assert coerce("sqrt", mode, name="mode", owner="weighted") == "sqrt"
    with pytest.raises(UsageError, match=r"weighted: option 'mode' expects one of inverse, sqrt, got 'bogus'"):
        coerce("bogus", mode, name="mode", owner="weighted")


def test_sequences_from_json_or_commas_with_typed_items():
    assert coerce("[16, 32]", list[int], name="widths", owner="o") == [16, 32]
    assert coerce("16,32,64", list[int], name="widths", owner="o") == [16, 32, 64]
    assert coerce([1, 2], tuple[int, ...], name="w", owner="o") == (1, 2)
    assert coerce("[1, 2]", tuple[int, float], name="w", owner="o") == (1, 2.0)
    with pytest.raises(UsageError, match="expects a JSON list of an integer"):
        coerce("[1, 'x']", list[int], name="widths", owner="o")


def test_mappings_from_json():
    assert coerce('{"disgust": 900}', dict[str, int], name="s", owner="o") == {"disgust": 900}
    with pytest.raises(UsageError, match="expects a JSON object"):
        coerce("[1]", dict[str, int], name="s", owner="o")


def test_untyped_values_are_json_where_they_parse():
    assert coerce("5", Any, name="k", owner="o") == 5
    assert coerce("[1,2]", Any, name="k", owner="o") == [1, 2]
    assert coerce("pca:64", Any, name="k", owner="o") == "pca:64"
    assert coerce("NaN", Any, name="k", owner="o") == "NaN"
    assert coerce("/tmp/x", Path, name="p", owner="o") == Path("/tmp/x")


class _Plugin:
    def __init__(self, dropout: float = 0.5, widths: list[int] | None = None, *, mode: Literal["a", "b"] = "a") -> None:
        self.options = {"dropout": dropout, "widths": widths, "mode": mode}


class _Open:
    def __init__(self, **options: Any) -> None:
        self.options = options


class _Required:
    def __init__(self, path: str) -> None:
        self.path = path


class _Declared:
    options_schema: ClassVar[dict[str, Any]] = {"k_neighbors": int}

    def __init__(self, **options: Any) -> None:
        self.options = options


def test_bind_options_types_values_by_the_signature():
    assert bind_options(_Plugin, {"dropout": "0.25", "widths": "[8,16]", "mode": "b"}, owner="net") == {
        "dropout": 0.25,
        "widths": [8, 16],
        "mode": "b",
    }


def test_bind_options_names_the_unknown_key_the_valid_ones_and_the_closest():
    with pytest.raises(UsageError) as caught:
        bind_options(_Plugin, {"dropuot": "0.1"}, owner="model 'net'")
    assert str(caught.value) == "model 'net': unknown option 'dropuot'; valid: dropout, widths, mode (did you mean 'dropout'?)"


def test_bind_options_malformed_value_is_one_line():
    with pytest.raises(UsageError) as caught:
        bind_options(_Plugin, {"dropout": "abc"}, owner="model 'net'")
    assert "\n" not in str(caught.value)
    assert str(caught.value) == "model 'net': option 'dropout' expects a finite number, got 'abc'"


def test_bind_options_open_target_passes_keys_through_as_json():
    assert bind_options(_Open, {"k": "5", "name": "x"}, owner="o") == {"k": 5, "name": "x"}


def test_bind_options_declared_schema_wins_over_kwargs():
    assert bind_options(_Declared, {"k_neighbors": "3"}, owner="smote") == {"k_neighbors": 3}
    with pytest.raises(UsageError, match=r"unknown option 'k'; valid: k_neighbors"):
        bind_options(_Declared, {"k": "3"}, owner="smote")


def test_bind_options_missing_required_option():
    with pytest.raises(UsageError, match=r"o: missing option path"):
        bind_options(_Required, {}, owner="o")


def test_option_specs_resolve_string_annotations():
    specs = {spec.name: spec for spec in option_specs(_Plugin)}
    assert specs["dropout"].annotation is float and specs["dropout"].default == 0.5
    assert specs["widths"].type_name.startswith("a JSON list")
    assert not specs["mode"].required
    assert describe_type(bool) == "true or false"


class _BareTypes:
    options_schema: ClassVar[dict[str, Any]] = {"k_neighbors": int, "features": str}

    def __init__(self, k_neighbors: int = 5, features: str = "pixels") -> None:
        self.options = {"k_neighbors": k_neighbors, "features": features}


def test_a_schema_entry_given_as_a_bare_type_is_optional_and_leaves_the_plugins_default():
    specs = {spec.name: spec for spec in option_specs(_BareTypes)}
    assert not specs["k_neighbors"].required and specs["k_neighbors"].annotation is int
    assert bind_options(_BareTypes, {}, owner="smote") == {}
    assert bind_options(_BareTypes, {"k_neighbors": "3"}, owner="smote") == {"k_neighbors": 3}


def test_an_explicit_option_spec_without_a_default_stays_required():
    class Needs:
        options_schema: ClassVar[dict[str, Any]] = {"model": OptionSpec("model", str)}

        def __init__(self, **options: Any) -> None:
            self.options = options

    with pytest.raises(UsageError, match=r"o: missing option model"):
        bind_options(Needs, {}, owner="o")


@pytest.mark.parametrize(
    ("typed", "valid", "expected"),
    [
        ("k", ["k_neighbors", "sampling_strategy", "features"], "k_neighbors"),  # difflib's ratio misses a prefix
        ("samp", ["k_neighbors", "sampling_strategy", "features"], "sampling_strategy"),
        ("dropuot", ["dropout", "widths"], "dropout"),  # a near spelling still wins
        ("neighbors", ["k_neighbors", "features"], "k_neighbors"),  # contained
        ("w", ["widths", "width"], "width"),  # the shortest of several prefixes
        ("zzz", ["dropout", "widths"], None),
        ("", ["dropout"], None),
    ],
)
def test_closest_match_knows_prefixes_and_spellings(typed, valid, expected):
    assert closest_match(typed, valid) == expected


def test_an_unknown_prefix_option_suggests_the_option_it_abbreviates():
    with pytest.raises(UsageError) as caught:
        bind_options(_BareTypes, {"k": "3"}, owner="balancer 'smote'")
    assert str(caught.value) == "balancer 'smote': unknown option 'k'; valid: k_neighbors, features (did you mean 'k_neighbors'?)"
