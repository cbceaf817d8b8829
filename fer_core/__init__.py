"""fer: a facial-expression-recognition model zoo with pluggable models, balancers and datasets.

Importing this package is cheap: it imports no torch, no plugin and no heavy library.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fer_core.api import API_VERSION

try:
    __version__ = version("fer-core")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_LAZY = {
    "get_registry": "fer_core.registry",
    "Predictor": "fer_core.predict",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fer_core' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = ["API_VERSION", "__version__", *_LAZY]
