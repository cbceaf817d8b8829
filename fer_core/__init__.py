"""fer: a facial-expression-recognition model zoo with pluggable models, balancers and datasets.

The public door::

    from fer_core import train, evaluate, load_dataset, run_bench, TrainConfig, Predictor, get_registry

Importing this package is cheap: it imports no torch, no plugin and no heavy library; each name above is
imported the first time it is used.
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

# public name -> the module that defines it
_LAZY = {
    "train": "fer_core.public",
    "evaluate": "fer_core.public",
    "run_bench": "fer_core.public",
    "load_dataset": "fer_core.data.loading",
    "TrainConfig": "fer_core.training.config",
    "TrainResult": "fer_core.training.recording",
    "Predictor": "fer_core.predict",
    "get_registry": "fer_core.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fer_core' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = ["API_VERSION", "__version__", *_LAZY]
