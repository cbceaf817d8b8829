"""The reference checkpoints as package data, registered in ``fer.weights`` (``fer predict -c fer-accurate``).

A ``fer.weights`` entry is a class whose ``path`` is the local weights file (``description`` is shown by `fer list`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

HERE = Path(__file__).resolve().parent


class FerFast:
    description: ClassVar[str] = "the default of `fer predict`: 7 classes, 1x48x48 gray, float32; FER-2013 terms: research use"
    path: ClassVar[Path] = HERE / "fer-fast.safetensors"


class FerAccurate:
    description: ClassVar[str] = "the most accurate single model: 7 classes, 1x48x48 gray, int8; FER-2013 terms: research use"
    path: ClassVar[Path] = HERE / "fer-accurate.safetensors"


class FerEnsemble:
    description: ClassVar[str] = "mean of mycnn_v6 and mycnn_v4: 7 classes, 1x48x48 gray, int8; FER-2013 terms: research use"
    path: ClassVar[Path] = HERE / "fer-ensemble.safetensors"


__all__ = ["HERE", "FerAccurate", "FerEnsemble", "FerFast"]
