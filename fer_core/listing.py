"""What `fer list` shows, as plain data for the CLI, tests and notebooks."""

from __future__ import annotations

from typing import Any

from fer_core.registry import GROUPS, Registry, get_registry, model_param_count


def describe_plugins(kinds: list[str] | None = None, *, params: bool = True, registry: Registry | None = None) -> list[dict[str, Any]]:
    """One dict per registered plugin: kind, name, distribution, version, status, error, description, params.

    Every plugin is imported to learn whether it is healthy; one failing never stops the listing.
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
                "params": None,
            }
            if params and kind == "models" and entry.status == "ok" and not entry.is_namespace:
                try:
                    row["params"] = model_param_count(entry.obj)
                except Exception as exc:  # a model that cannot build is broken, not fatal
                    row["status"], row["error"] = "broken", f"build failed: {type(exc).__name__}: {exc}".splitlines()[0]
            rows.append(row)
    return rows
