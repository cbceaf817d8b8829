import pytest
from hypothesis import given
from hypothesis import strategies as st

from fer_core.data.labels import ALL_LABELS, CANONICAL, SYNONYMS, canonical_label, normalise, order_classes, parse_mapping
from fer_core.errors import DataError

messy_separators = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def messy_spelling(draw, word: str) -> str:
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    return draw(messy_separators) + cased + draw(messy_separators)


@given(st.sampled_from(sorted(SYNONYMS)).flatmap(lambda w: st.tuples(st.just(w), messy_spelling(w))))
def test_every_synonym_maps_whatever_the_case_and_padding(pair):
    word, spelled = pair
    assert canonical_label(spelled) == SYNONYMS[word]


@given(st.sampled_from(ALL_LABELS))
def test_canonical_names_map_to_themselves(name):
    assert canonical_label(name) == name
    assert canonical_label(canonical_label(name)) == name


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12).filter(lambda t: t not in SYNONYMS))
def test_unknown_labels_are_errors_that_name_them(name):
    with pytest.raises(DataError, match=f"unknown label '{name}'"):
        canonical_label(name)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12), st.sampled_from(CANONICAL))
def test_a_user_mapping_wins(name, target):
    assert canonical_label(name, {name: target}) == target
    assert canonical_label(name.upper(), {name: target}) == target


def test_mapping_targets_may_be_synonyms_or_new_classes():
    assert canonical_label("1", {"1": "Surprised"}) == "surprise"
    assert canonical_label("pain", {"pain": "pain"}) == "pain"


@given(st.lists(st.sampled_from([*ALL_LABELS, "zeta", "alpha"]), min_size=1))
def test_order_is_canonical_then_contempt_then_user_classes(names):
    ordered = order_classes(names)
    assert set(ordered) == set(names)
    known = [n for n in ordered if n in ALL_LABELS]
    assert known == [n for n in ALL_LABELS if n in names]
    assert list(ordered[len(known) :]) == sorted(set(names) - set(ALL_LABELS))


def test_normalise_collapses_separators():
    assert normalise("  Happy-Face__x ") == "happy_face_x"


def test_parse_mapping_and_its_errors():
    assert parse_mapping(["1=surprise", " pain = sad "]) == {"1": "surprise", "pain": "sad"}
    with pytest.raises(DataError, match="bad label mapping 'oops'"):
        parse_mapping(["oops"])
    with pytest.raises(DataError, match="bad label mapping '=sad'"):
        parse_mapping(["=sad"])
