"""Options shared by the built-in file sources, read from the plugin's keyword options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from fer_core.api import DatasetSource
from fer_core.errors import DataError, UsageError
from fer_core.options import OptionSpec

FILE_OPTIONS: dict[str, OptionSpec] = {
    "mapping": OptionSpec("mapping", dict[str, str] | None, None, 'source label -> class, e.g. {"calm": "neutral"}'),
    "on_bad": OptionSpec("on_bad", Literal["error", "skip"], "error", "unreadable files: stop, or warn and skip them"),
    "cache": OptionSpec("cache", bool, True, "keep decoded images in the decode cache"),
    "cache_dir": OptionSpec("cache_dir", Path | None, None, "decode cache folder (default $FER_CACHE_DIR or ~/.cache/fer)"),
    "channels": OptionSpec("channels", int, 1, "1 (gray) or 3 (BGR)"),
    "size": OptionSpec("size", int, 48, "images are resized to size x size pixels"),
    "seed": OptionSpec("seed", int, 0, "seed for carved splits"),
}


class FileSource(DatasetSource):
    """Options: ``mapping`` (label -> class), ``on_bad`` (error|skip), ``cache`` (bool), ``cache_dir``,
    ``channels`` (1|3), ``size`` (pixels), ``seed``."""

    detect_priority: ClassVar[int] = 0
    short_name: ClassVar[str] = ""
    options_schema: ClassVar[Mapping[str, Any] | None] = FILE_OPTIONS

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.options.get("mapping") or {})

    @property
    def on_bad(self) -> str:
        value = str(self.options.get("on_bad", "error"))
        if value not in ("error", "skip"):
            raise UsageError(f"on_bad must be 'error' or 'skip', got '{value}'")
        return value

    @property
    def cache(self) -> bool:
        return bool(self.options.get("cache", True))

    @property
    def cache_dir(self) -> Path | None:
        value = self.options.get("cache_dir")
        return Path(value) if value else None

    @property
    def seed(self) -> int:
        return int(self.options.get("seed", 0))

    def option_int(self, name: str, default: int, allowed: tuple[int, ...] | None = None) -> int:
        value: Any = self.options.get(name, default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"option {name} must be an integer, got '{value}'") from None
        if allowed is not None and number not in allowed:
            raise UsageError(f"option {name} must be one of {', '.join(map(str, allowed))}, got {number}")
        if number <= 0:
            raise UsageError(f"option {name} must be positive, got {number}")
        return number

    @staticmethod
    def require(path: Path | None, name: str) -> Path:
        if path is None:
            raise DataError(f"the {name} dataset needs a path, e.g. {name}:/path/to/data")
        if not path.exists():
            raise DataError(f"no such file or directory: {path}")
        return path
