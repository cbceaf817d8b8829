"""What `fer list` shows, as plain data for the CLI, tests and notebooks."""

from __future__ import annotations

from typing import Any

from fer_core.errors import PluginLoadError
from fer_core.registry import GROUPS, PluginEntry, Registry, get_registry, model_param_count


def describe_plugins(kinds: list[str] | None = None, *, params: bool = True, registry: Registry | None = None) -> list[dict[str, Any]]:
    """One dict per registered plugin: kind, name, distribution, version, status, error, description, options, params.

    Every plugin is imported to learn whether it is healthy; one failing never stops the listing. A name that
    several distributions register has one row per distribution.
    """
    registry = registry or get_registry()
    rows: list[dict[str, Any]] = []
    for kind in kinds or list(GROUPS):
        for entry in registry.load_all(kind):
            row: dict[str, Any] = {
                "kind": kind,
                "name": entry.name,
                "distribution": entry.distribution,
                "version": entry.version,
                "status": entry.status,
                "error": entry.error,
                "description": getattr(entry.obj, "description", "") if entry.obj is not None else "",
                "options": _option_names(entry),
                "params": None,
            }
            if params and kind == "models" and entry.status in ("ok", "duplicate") and not entry.is_namespace:
                try:
                    row["params"] = model_param_count(entry.obj)
                except PluginLoadError as exc:  # sys.exit() or a stray KeyboardInterrupt in build()
                    row["status"], row["error"] = "broken", str(exc).splitlines()[0]
                except Exception as exc:  # a model that cannot build is broken, not fatal
                    row["status"], row["error"] = "broken", f"build failed: {type(exc).__name__}: {exc}".splitlines()[0]
            if kind == "weights" and entry.status == "ok":  # model, classes, input, PublicTest numbers, size, licence
                from fer_core.predict.weights import weights_row

                row.update(weights_row(entry))
            rows.append(row)
    return rows


def _option_names(entry: PluginEntry) -> list[str]:
    specs = getattr(entry.obj, "option_specs", None) if entry.obj is not None and not entry.is_namespace else None
    try:
        return [spec.name for spec in specs()] if callable(specs) else []
    except Exception:  # an annotation that cannot be read says nothing about the plugin's health
        return []
