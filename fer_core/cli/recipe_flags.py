"""The recipe flags of `fer train` and `fer bench`, generated from ``TrainConfig``'s fields.

``recipe_command`` wraps a command body: typer sees the body's own parameters plus one option per
recipe field (name, help, metavar and default from the field's ``Setting``), computed each time
typer builds the command, so a field added to ``TrainConfig`` is a flag of both commands with no
other change. The body receives the recipe settings that were given, already typed, as ``recipe``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from importlib import import_module
from typing import Any, Literal

import typer

Command = Literal["train", "bench"]
PREFIX = "recipe__"
RECIPE = "recipe"


def config_class() -> type:
    """Read at each use, so a subclass put in its place (tests) is what the commands offer."""
    return import_module("fer_core.training.config").TrainConfig


def recipe_fields(command: Command) -> list[Any]:
    from fer_core.training.config import recipe_fields as all_fields

    wanted = ("both",) if command == "bench" else ("both", "train")
    return [spec for spec in all_fields(config_class()) if spec.setting.commands in wanted]


def flag_of(name: str) -> str:
    """The command-line flag of the recipe field ``name``."""
    from fer_core.training.config import recipe_fields as all_fields

    return next((spec.flag for spec in all_fields(config_class()) if spec.name == name), "--" + name.replace("_", "-"))


def _metavar(spec: Any) -> str:
    if spec.setting.metavar:
        return spec.setting.metavar
    if spec.setting.choices:
        return "[" + "|".join(map(str, spec.setting.choices)) + "]"
    plain = [arg for arg in typing.get_args(spec.annotation) if arg is not type(None)] or [spec.annotation]
    return {int: "INTEGER", float: "FLOAT"}.get(plain[0], "TEXT")


def _help(spec: Any) -> str:
    text = spec.setting.help or spec.label.capitalize() + "."
    default = spec.default
    if default is None or spec.is_mapping or default is inspect.Parameter.empty or repr(default).startswith("<"):
        return text
    shown = ("yes" if default else "no") if isinstance(default, bool) else f"{default:g}" if isinstance(default, float) else default
    return f"{text} (default: {shown})"


def _parameter(spec: Any) -> inspect.Parameter:
    names = [spec.flag, *([spec.setting.short] if spec.setting.short else [])]
    if spec.is_mapping:
        annotation: Any = list[str]
        option = typer.Option([], *names, help=_help(spec), metavar="KEY=VALUE")
    elif spec.annotation is bool:
        annotation = bool | None
        negative = "--no-" + spec.flag.removeprefix("--")
        option = typer.Option(None, f"{spec.flag}/{negative}", *names[1:], help=_help(spec), show_default=False)
    else:
        annotation = str | None
        option = typer.Option(None, *names, help=_help(spec), metavar=_metavar(spec), show_default=False)
    return inspect.Parameter(PREFIX + spec.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


def typed_recipe(given: dict[str, Any], command: Command) -> dict[str, Any]:
    """The recipe flags that were given (by field name), typed by their fields; one error line if one can't be."""
    from fer_core.options import parse_pairs

    recipe: dict[str, Any] = {}
    for spec in recipe_fields(command):
        raw = given.get(spec.name)
        if raw is None or (spec.is_mapping and not raw):
            continue
        if spec.is_mapping:
            recipe[spec.name] = parse_pairs(raw, spec.flag)
        else:
            recipe[spec.name] = spec.coerce(raw, owner=f"fer {command}", name=spec.flag)
    return recipe


class RecipeCommand:
    """A command callback whose signature is the body's parameters plus the generated recipe options."""

    def __init__(self, body: Callable[..., Any], command: Command, *, recipe_first: bool) -> None:
        self.body, self.command, self.recipe_first = body, command, recipe_first
        self.__name__, self.__qualname__ = body.__name__, body.__qualname__
        self.__doc__, self.__module__ = body.__doc__, body.__module__

    def _own(self) -> list[inspect.Parameter]:
        parameters = inspect.signature(self.body, eval_str=True).parameters.values()
        return [p for p in parameters if p.name != RECIPE]

    @property
    def __signature__(self) -> inspect.Signature:
        own, generated = self._own(), [_parameter(spec) for spec in recipe_fields(self.command)]
        taken = {name for p in own for decl in getattr(p.default, "param_decls", ()) or () for name in decl.split("/")}
        clash = [decl for p in generated for decl in p.default.param_decls if set(decl.split("/")) & taken]
        if clash:
            raise RuntimeError(f"fer {self.command}: recipe flag {', '.join(clash)} is also one of the command's own flags")
        ordered = [*generated, *own] if self.recipe_first else [*own, *generated]
        return inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in ordered])

    @property
    def __annotations__(self) -> dict[str, Any]:  # read by typing.get_type_hints, which typer calls
        return {p.name: p.annotation for p in self.__signature__.parameters.values()}

    def __call__(self, **values: Any) -> Any:
        given = {key.removeprefix(PREFIX): values.pop(key) for key in list(values) if key.startswith(PREFIX)}
        return self.body(**values, recipe=typed_recipe(given, self.command))


def recipe_command(command: Command, *, recipe_first: bool = False) -> Callable[[Callable[..., Any]], RecipeCommand]:
    """Decorate a command body that takes ``recipe: dict[str, Any]`` (the typed recipe flags that were given)."""

    def decorate(body: Callable[..., Any]) -> RecipeCommand:
        if RECIPE not in inspect.signature(body).parameters:
            raise TypeError(f"{body.__name__} must take a '{RECIPE}' parameter")
        return RecipeCommand(body, command, recipe_first=recipe_first)

    return decorate


def settings_from_pairs(pairs: list[str]) -> dict[str, Any]:
    """``fer bench --set KEY=VALUE ...``: any recipe field by name, typed by its annotation."""
    from fer_core.options import parse_pairs
    from fer_core.training.config import coerce_settings

    return coerce_settings(parse_pairs(pairs, "--set"), owner="--set", cls=config_class())
