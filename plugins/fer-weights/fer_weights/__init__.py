"""The reference checkpoints as package data, registered in ``fer.weights`` (``fer predict -c fer-accurate``).

A ``fer.weights`` entry is a class whose ``path`` is the local weights file (``description`` is shown by `fer list`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent


class FerFast:
    description: ClassVar[str] = "mycnn_v1, float32, 1.3 MB: the default of `fer predict`"
    path: ClassVar[Path] = HERE / "fer-fast.safetensors"


class FerAccurate:
    description: ClassVar[str] = "mycnn_v6, int8 weights, 5 MB: the most accurate single model"
    path: ClassVar[Path] = HERE / "fer-accurate.safetensors"


class FerEnsemble:
    description: ClassVar[str] = "mean of mycnn_v6 and mycnn_v4, int8 weights, 6.3 MB"
    path: ClassVar[Path] = HERE / "fer-ensemble.safetensors"


__all__ = ["HERE", "FerAccurate", "FerEnsemble", "FerFast"]
