"""One reader for every ``KEY=VALUE`` option: parsed once, typed by the annotation of whatever receives it.

``--model-opt``, ``--balancer-opt``, ``--data-opt``, ``--detector-opt`` and ``fer bench --set`` all go through
``parse_pairs`` (text in, text out) and then ``bind_options`` or ``coerce``, which type each value by the
receiving parameter's annotation: ``cache=no`` is ``False`` for a ``bool`` parameter and the text ``"no"``
for a ``str`` one. Every mistake is one ``UsageError`` line naming the owner, the option and what it expects.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from fer_core.errors import UsageError

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
NONE_WORDS = frozenset({"none", "null"})
_EMPTY = inspect.Parameter.empty


class _PluginDefault:
    """The default of an option declared by type alone (``options_schema = {"k": int}``): optional, and when it is
    not given the plugin's own default applies (nothing is passed)."""

    def __repr__(self) -> str:
        return "<the plugin's default>"


PLUGIN_DEFAULT: Any = _PluginDefault()


class _Detail(ValueError):
    """A reason worth showing after "expects ..." (Python's own conversion messages are not)."""


@dataclass(frozen=True)
class OptionSpec:
    """One option a plugin (or config) accepts."""

    name: str
    annotation: Any = Any
    default: Any = _EMPTY
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is _EMPTY

    @property
    def type_name(self) -> str:
        return describe_type(self.annotation)


def parse_pairs(pairs: Iterable[str], flag: str) -> dict[str, str]:
    """``["k=5", "a=b=c"]`` -> ``{"k": "5", "a": "b=c"}``; the values stay text until a receiver types them."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = str(pair).partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got '{pair}'")
        options[key.strip()] = raw.strip()
    return options


def option_specs(target: Callable[..., Any] | type) -> list[OptionSpec]:
    """The keyword options ``target`` takes (a class's ``__init__``), with resolved annotations and defaults."""
    declared = getattr(target, "options_schema", None)
    if declared is not None:
        return [spec if isinstance(spec, OptionSpec) else OptionSpec(name, spec, PLUGIN_DEFAULT) for name, spec in dict(declared).items()]
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    hints = _type_hints(target)
    return [
        OptionSpec(p.name, hints.get(p.name, Any if p.annotation is _EMPTY else p.annotation), p.default)
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    ]


def accepts_any_option(target: Callable[..., Any] | type) -> bool:
    """True when ``target`` declares no schema and takes ``**kwargs``: it cannot say which keys are valid."""
    if getattr(target, "options_schema", None) is not None:
        return False
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD for p in parameters)


def bind_options(target: Callable[..., Any] | type, raw: Mapping[str, Any], *, owner: str) -> dict[str, Any]:
    """Check ``raw``'s keys against what ``target`` takes and type each value by its annotation.

    Keys a ``**kwargs`` target may also take are passed through, typed as JSON where they parse.
    """
    specs = {spec.name: spec for spec in option_specs(target)}
    open_ended = accepts_any_option(target)
    bound: dict[str, Any] = {}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None and not open_ended:
            raise UsageError(unknown_option_message(owner, name, list(specs)))
        bound[name] = coerce(value, spec.annotation if spec else Any, name=name, owner=owner)
    missing = [spec.name for spec in specs.values() if spec.required and spec.name not in bound]
    if missing and not open_ended:
        raise UsageError(f"{owner}: missing option{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return bound


def unknown_option_message(owner: str, name: str, valid: list[str]) -> str:
    if not valid:
        return f"{owner}: unknown option '{name}'; it takes no options"
    close = closest_match(name, valid)
    hint = f" (did you mean '{close}'?)" if close else ""
    return f"{owner}: unknown option '{name}'; valid: {', '.join(valid)}{hint}"


def closest_match(name: str, valid: Iterable[str]) -> str | None:
    """The valid name ``name`` most likely meant: a near spelling (difflib), else the shortest one it abbreviates
    (``k`` -> ``k_neighbors``, which difflib's ratio misses), else one it contains or that contains it; None if none."""
    choices = list(dict.fromkeys(valid))
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return close[0]
    wanted = name.strip().lower()
    if not wanted:
        return None
    for matches in (lambda c: c.startswith(wanted), lambda c: wanted in c or c in wanted):
        found = sorted((c for c in choices if c and matches(c.lower())), key=len)
        if found:
            return found[0]
    return None


def coerce(raw: Any, annotation: Any, *, name: str, owner: str) -> Any:
    """``raw`` (text from the command line, or an already-typed value) as ``annotation`` says; one line if it can't be."""
    try:
        return _coerce(raw, annotation)
    except (ValueError, TypeError) as exc:
        shown = raw if isinstance(raw, str) else json.dumps(raw, default=str)
        detail = f" ({exc})" if isinstance(exc, _Detail) else ""
        raise UsageError(f"{owner}: option '{name}' expects {describe_type(annotation)}, got '{shown}'{detail}") from None


def describe_type(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any or annotation is _EMPTY:
        return "a value"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join("none" if a is type(None) else describe_type(a) for a in args)
    if origin in (list, tuple) or annotation in (list, tuple):
        inner = f" of {describe_type(args[0])}" if args and args[0] is not Ellipsis else ""
        return f"a JSON list{inner} (e.g. [1,2]) or comma-separated values"
    if origin is dict or annotation is dict:
        return 'a JSON object (e.g. {"key": 1})'
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "text", Path: "a path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(raw: Any, annotation: Any) -> Any:
    if annotation is Any or annotation is _EMPTY or annotation is object:
        return _json_or_text(raw) if isinstance(raw, str) else raw
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _coerce(raw, args[0])
    if origin is Literal:
        return _literal(raw, args)
    if origin in (Union, types.UnionType):
        return _union(raw, args)
    if origin in (list, tuple) or annotation in (list, tuple):
        return _sequence(raw, origin or annotation, args)
    if origin is dict or annotation is dict:
        return _mapping(raw, args)
    scalar = _SCALARS.get(annotation)
    if scalar is not None:
        return scalar(raw)
    if isinstance(annotation, type):
        if isinstance(raw, annotation):
            return raw
        if isinstance(raw, str):
            return annotation(raw)
    raise TypeError("expects")


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    raise ValueError("expects")


def _int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expects")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        return int(raw.strip().replace("_", ""))
    raise ValueError("expects")


def _float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("expects")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        value = float(raw.strip())
    else:
        raise ValueError("expects")
    if not math.isfinite(value):
        raise _Detail("not finite")
    return value


def _str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    raise ValueError("expects")


def _path(raw: Any) -> Path:
    if isinstance(raw, Path):
        return raw
    if isinstance(raw, str) and raw:
        return Path(raw)
    raise ValueError("expects")


_SCALARS: dict[Any, Callable[[Any], Any]] = {bool: _bool, int: _int, float: _float, str: _str, Path: _path}


def _literal(raw: Any, choices: tuple[Any, ...]) -> Any:
    for choice in choices:
        try:
            if _coerce(raw, type(choice)) == choice:
                return choice
        except (ValueError, TypeError):
            continue
    raise ValueError("expects")


def _union(raw: Any, members: tuple[Any, ...]) -> Any:
    if type(None) in members and (raw is None or (isinstance(raw, str) and raw.strip().lower() in NONE_WORDS)):
        return None
    # Text is tried last so that "3" becomes 3 for ``int | str``.
    ordered = sorted((m for m in members if m is not type(None)), key=lambda m: m is str)
    for member in ordered:
        try:
            return _coerce(raw, member)
        except (ValueError, TypeError):
            continue
    raise ValueError("expects")


def _sequence(raw: Any, kind: Any, args: tuple[Any, ...]) -> Any:
    if isinstance(raw, str):
        text = raw.strip()
        parsed = _json_or_text(text)
        items = parsed if isinstance(parsed, list) else ([] if not text else [part.strip() for part in text.split(",")])
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise ValueError("expects")
    if kind is tuple and args and args[-1] is not Ellipsis:
        if len(items) != len(args):
            raise _Detail(f"{len(args)} values needed")
        return tuple(_coerce(item, arg) for item, arg in zip(items, args, strict=True))
    inner = args[0] if args else Any
    values = [_coerce(item, inner) for item in items]
    return tuple(values) if kind is tuple else values


def _mapping(raw: Any, args: tuple[Any, ...]) -> dict[Any, Any]:
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, dict):
        raise ValueError("expects")
    key_type, value_type = args if len(args) == 2 else (Any, Any)
    return {_coerce(k, key_type): _coerce(v, value_type) for k, v in parsed.items()}


def _json_or_text(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def _type_hints(target: Callable[..., Any] | type) -> dict[str, Any]:
    function = target.__init__ if isinstance(target, type) else target
    try:
        return typing.get_type_hints(function)
    except Exception:
        # An annotation that names something imported only for type checking: resolve the others one by one.
        namespace = getattr(inspect.getmodule(function), "__dict__", {})
        hints: dict[str, Any] = {}
        for key, text in getattr(function, "__annotations__", {}).items():
            try:
                hints[key] = eval(text, namespace) if isinstance(text, str) else text
            except Exception:
                hints[key] = Any
        return hints
