"""imbalanced-learn's ``sampling_strategy`` as fer users write it: a keyword, or target counts per class name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fer_core.errors import UsageError

KEYWORDS = ("auto", "minority", "not minority", "not majority", "all")


def resolve_sampling_strategy(strategy: Any, classes: Sequence[str]) -> str | dict[int, int]:
    """Return a keyword unchanged, or ``{class name or id: count}`` as ``{class id: count}``."""
    if isinstance(strategy, str):
        if strategy not in KEYWORDS:
            raise UsageError(f"sampling_strategy must be one of {', '.join(KEYWORDS)} or a mapping class -> count, got '{strategy}'")
        return strategy
    if not isinstance(strategy, dict):
        raise UsageError(f"sampling_strategy must be a keyword or a mapping class -> count, got {strategy!r}")
    resolved: dict[int, int] = {}
    for key, count in strategy.items():
        if isinstance(key, str) and key in classes:
            class_id = classes.index(key)
        elif str(key).isdigit() and int(key) < len(classes):
            class_id = int(key)
        else:
            raise UsageError(f"sampling_strategy names an unknown class {key!r}; classes: {', '.join(classes)}")
        if not isinstance(count, int) or count < 0:
            raise UsageError(f"sampling_strategy count for {key!r} must be a non-negative integer, got {count!r}")
        resolved[class_id] = count
    return resolved
