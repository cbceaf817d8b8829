"""Canonical expression labels and the synonyms that map onto them.

Every dataset is read into these names, in this order, so models and reports
agree on what class 3 means whatever the source called it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from fer_core.errors import DataError

CANONICAL: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CONTEMPT = "contempt"
ALL_LABELS: tuple[str, ...] = (*CANONICAL, CONTEMPT)
FER2013_IDS: tuple[str, ...] = CANONICAL  # official emotion ids 0..6

SYNONYMS: dict[str, str] = {
    "angry": "angry",
    "anger": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "afraid": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "suprise": "surprise",  # a misspelling found in several public folder releases
    "neutral": "neutral",
    "contempt": "contempt",
    "contemptuous": "contempt",
}


def normalise(name: str) -> str:
    """Lower-case, trimmed, with runs of spaces, dashes and underscores made one underscore."""
    return re.sub(r"[\s\-_]+", "_", name.strip().lower()).strip("_")


def canonical_label(name: str, mapping: Mapping[str, str] | None = None, *, where: str = "") -> str:
    """The canonical class for a source's label name.

    A user ``mapping`` wins over the built-in synonyms; its targets may be canonical
    names (or synonyms of them) or new class names of the user's own.
    """
    key = normalise(name)
    if mapping:
        user = {normalise(k): v for k, v in mapping.items()}
        if key in user:
            target = normalise(user[key])
            if not target:
                raise DataError(f"mapping for label '{name}' is empty")
            return SYNONYMS.get(target, target)
    if key in SYNONYMS:
        return SYNONYMS[key]
    place = f" ({where})" if where else ""
    raise DataError(
        f"unknown label '{name}'{place}; known labels: {', '.join(ALL_LABELS)}; pass a mapping such as --map '{name}=happy' to use it"
    )


def order_classes(names: Iterable[str]) -> tuple[str, ...]:
    """Canonical classes in canonical order, then contempt, then any user classes alphabetically."""
    present = set(names)
    known = [c for c in ALL_LABELS if c in present]
    return (*known, *sorted(present - set(ALL_LABELS)))


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["1=surprise", "pain=other"]`` -> ``{"1": "surprise", "pain": "other"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise DataError(f"bad label mapping '{pair}'; expected SOURCE=TARGET, e.g. anger=angry")
        mapping[source.strip()] = target.strip()
    return mapping
