"""The recipe of one training run, declared once: a frozen, hashable, JSON-round-trippable value.

Each field of ``TrainConfig`` carries its ``Setting`` (help, command-line flag, valid range or choices,
whether it enters the config hash). Everything else is generated from that one declaration: the
flags of ``fer train`` and ``fer bench`` (``fer_core.cli.recipe_flags``), their ``--help``, the
typing of command-line text and ``fer bench --set KEY=VALUE`` (``coerce_settings``), the validation
of every ``TrainConfig`` however it was made (``__post_init__``), and the recorded config (``to_dict``).
Adding a field here adds all of these.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from functools import cache
from typing import Annotated, Any, Literal

from fer_core.errors import UsageError
from fer_core.options import closest_match

AUGMENT_PRESETS = ("none", "light", "standard", "strong")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "plateau", "none")
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
# The recipe keys of fer-core 0.1 runs: hashed even at their defaults, so that the hashes of existing runs
# stay what they were. A field added later enters the hash only when it differs from its default.
_HASHED_ALWAYS = frozenset(
    {
        *("model", "model_options", "balancer", "balancer_options", "augment", "epochs", "batch_size", "lr", "weight_decay"),
        *("optimizer", "schedule", "label_smoothing", "patience", "seed", "time_budget_s", "input_size", "channels"),
        *("channels_last", "precision"),
    }
)
Commands = Literal["both", "train", "none"]


@dataclass(frozen=True)
class Setting:
    """What the command line and validation know about one recipe field."""

    help: str
    flag: str | None = None  # default: --field-name
    short: str | None = None
    label: str | None = None  # in messages; default: the field name with spaces
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False  # the minimum itself is not allowed
    below: bool = False  # the maximum itself is not allowed
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # a further rule: the problem, or None
    commands: Commands = "both"  # train: only `fer train` has the flag (bench sets it per cell or via --set)
    hashed: bool | None = None  # None: hashed as _HASHED_ALWAYS says; False: never (speed, not the recipe)
    metavar: str | None = None


def _named(name: str) -> str | None:
    return None if name.strip() else "must name a plugin (see `fer list`)"


def _fold(fold: str) -> str | None:
    from fer_core.data.splits import fold_problem

    return fold_problem(fold)


def _cuda_index(device: str) -> str | None:
    prefix, _, index = device.partition(":")
    if device in DEVICES or (prefix == "cuda" and index.isdigit()):
        return None
    return f"must be one of {', '.join(DEVICES)} or cuda:N, got '{device}'"


@dataclass(frozen=True)
class TrainConfig:
    model: Annotated[str, Setting("Model plugin name (see `fer list models`).", short="-m", commands="train", check=_named)]
    model_options: Annotated[dict[str, Any], Setting("Model option KEY=VALUE (repeatable).", flag="--model-opt", commands="train")] = field(
        default_factory=dict
    )
    balancer: Annotated[
        str, Setting("Balancer plugin: none, weighted, smote, oversample (see `fer list balancers`).", short="-b", commands="train")
    ] = "none"
    balancer_options: Annotated[
        dict[str, Any], Setting("Balancer option KEY=VALUE (repeatable).", flag="--balancer-opt", commands="train")
    ] = field(default_factory=dict)
    augment: Annotated[
        str, Setting("none, light, standard, strong (albumentations), torch:PRESET (on the GPU), or an augmenter plugin.")
    ] = "standard"
    epochs: Annotated[int, Setting("Maximum epochs.", minimum=1, maximum=100_000)] = 10
    batch_size: Annotated[int, Setting("Batch size.", label="batch size", minimum=2, maximum=65_536)] = 32
    lr: Annotated[float, Setting("Learning rate.", label="learning rate", minimum=0, above=True)] = 1e-3
    weight_decay: Annotated[float, Setting("Weight decay.", label="weight decay", minimum=0)] = 1e-4
    optimizer: Annotated[str, Setting("adamw, or sgd (momentum 0.9, Nesterov).", choices=OPTIMIZERS)] = "adamw"
    schedule: Annotated[str, Setting("Learning-rate schedule.", choices=SCHEDULES)] = "cosine"
    label_smoothing: Annotated[float, Setting("Label smoothing.", label="label smoothing", minimum=0, maximum=1, below=True)] = 0.0
    patience: Annotated[int, Setting("Early stopping on val macro-F1 after this many epochs without gain; 0 disables.", minimum=0)] = 3
    seed: Annotated[int, Setting("Seed for data order, augmentation and initialisation.", minimum=0, commands="train")] = 0
    # fer bench sets it per cell from --folds K; the folds and each fold's val part depend on the data alone, not the seed
    fold: Annotated[
        str | None,
        Setting(
            "Train on fold I of K (e.g. 2/5): the data's splits pooled into K stratified folds (subject-grouped where "
            "subjects are known); fold I is the test split, val is carved from the other K-1.",
            commands="train",
            check=_fold,
            metavar="I/K",
        ),
    ] = None
    # a cap on training seconds: no epoch starts that, judging by the last, would end past it
    time_budget_s: Annotated[
        float | None,
        Setting(
            "Cap on training wall seconds, first epoch included: stops after the batch that crosses it, validates and "
            "keeps the best checkpoint (overshoot: one batch and one validation pass).",
            flag="--time-budget",
            label="time budget",
            minimum=0,
            above=True,
        ),
    ] = None
    max_steps: Annotated[
        int | None,
        Setting(
            "Cap on optimizer steps (batches) over the whole run: the cosine schedule ends there and training stops "
            "after it; the same budget for every balancer, also one that enlarges the epoch (SMOTE).",
            label="max steps",
            minimum=1,
        ),
    ] = None
    input_size: Annotated[
        int | None, Setting("Input side in pixels (default: the model's).", label="input size", minimum=8, maximum=512, metavar="PIXELS")
    ] = None
    channels: Annotated[int, Setting("1 (grayscale) or 3.", choices=(1, 3))] = 1
    channels_last: Annotated[bool, Setting("Train in the channels_last memory layout.")] = True
    threads: Annotated[
        int | None,
        Setting(
            "Torch threads; 1 is the fastest on a shared machine (benchmarks/threads.md).",
            minimum=1,
            maximum=1024,
            hashed=False,
        ),
    ] = 1
    precision: Annotated[
        str, Setting("fp32, or bf16 (autocast in training; GPUs, CPUs with AVX512-BF16/AMX); evaluation stays fp32.", choices=PRECISIONS)
    ] = "fp32"
    device: Annotated[
        str, Setting("auto (the first CUDA GPU torch sees, else the CPU), cpu, cuda or cuda:N.", check=_cuda_index, hashed=False)
    ] = "auto"

    def __post_init__(self) -> None:
        """Type and check every field as its ``Setting`` says; all problems in one line."""
        problems = []
        for spec in recipe_fields(type(self)):
            typed, problem = _checked(spec, getattr(self, spec.name))
            if problem:
                problems.append(problem)
            elif typed is not getattr(self, spec.name):
                object.__setattr__(self, spec.name, typed)
        if problems:
            raise UsageError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - {spec.name for spec in recipe_fields(cls)})
        if unknown:
            raise UsageError(f"unknown training config keys: {', '.join(unknown)}")
        return cls(**data)

    def config_hash(self) -> str:
        """A short, stable identity of the recipe (what it learns; not the thread count or the device)."""
        recipe = {spec.name: getattr(self, spec.name) for spec in recipe_fields(type(self)) if spec.in_hash(getattr(self, spec.name))}
        text = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RecipeField:
    """One ``TrainConfig`` field with its resolved annotation and its ``Setting``."""

    name: str
    annotation: Any
    setting: Setting
    default: Any  # MISSING when required

    @property
    def flag(self) -> str:
        return self.setting.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.setting.label or self.name.replace("_", " ")

    @property
    def is_mapping(self) -> bool:
        return typing.get_origin(self.annotation) is dict

    def in_hash(self, value: Any) -> bool:
        if self.setting.hashed is False:
            return False
        return self.setting.hashed is True or self.name in _HASHED_ALWAYS or value != self.default

    def coerce(self, raw: Any, owner: str, name: str | None = None) -> Any:
        """``raw`` (command-line text or a value) typed by the annotation; one ``UsageError`` line if it can't be."""
        from fer_core.options import coerce

        return coerce(raw, self.annotation, name=name or self.name, owner=owner)


@cache
def recipe_fields(cls: type = TrainConfig) -> tuple[RecipeField, ...]:
    """The fields of ``cls`` (``TrainConfig`` or a subclass) in declaration order, annotations resolved."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple(RecipeField(f.name, *_split(hints[f.name]), _default(f)) for f in fields(cls))


def _split(hint: Any) -> tuple[Any, Setting]:
    """``Annotated[float, Setting(...)]`` -> ``(float, Setting(...))``; a plain hint gets an empty Setting."""
    if typing.get_origin(hint) is Annotated:
        declared = [extra for extra in hint.__metadata__ if isinstance(extra, Setting)]
        return hint.__origin__, declared[0] if declared else Setting("")
    return hint, Setting("")


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _checked(spec: RecipeField, value: Any) -> tuple[Any, str | None]:
    """``value`` typed by the field's annotation (text is converted), and what is wrong with it, or None."""
    from fer_core.options import describe_type

    if spec.is_mapping:  # plugin options stay as given; the plugin binds and checks them when it is created
        ok = isinstance(value, dict) and all(isinstance(key, str) for key in value)
        return value, None if ok else f"{spec.label} must be a mapping of option names to values, got {value!r}"
    try:
        typed = spec.coerce(value, owner="training")
    except UsageError:
        return value, f"{spec.label} must be {describe_type(spec.annotation)}, got {value!r}"
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(typed, float):
        typed = value  # an int where a float goes stays as given, so recorded recipes keep their hashes
    return typed, None if typed is None else _rule_problem(spec, typed)


def _rule_problem(spec: RecipeField, typed: Any) -> str | None:
    rule = spec.setting
    if rule.choices is not None and typed not in rule.choices:
        return f"{spec.label} must be one of {', '.join(map(str, rule.choices))}, got '{typed}'"
    if isinstance(typed, int | float) and not isinstance(typed, bool):
        if rule.minimum is not None and (typed < rule.minimum or (rule.above and typed == rule.minimum)):
            return f"{spec.label} must be {'>' if rule.above else '>='} {rule.minimum:g}, got {typed}"
        if rule.maximum is not None and (typed > rule.maximum or (rule.below and typed == rule.maximum)):
            return f"{spec.label} must be {'<' if rule.below else '<='} {rule.maximum:g}, got {typed}"
    problem = rule.check(typed) if rule.check else None
    return f"{spec.label} {problem}" if problem else None


def coerce_settings(raw: Mapping[str, Any], *, owner: str, cls: type = TrainConfig) -> dict[str, Any]:
    """Recipe settings by field name (text from the command line or JSON values) typed by each field's annotation.

    An unknown name is one line with the known ones and the closest match.
    """
    by_name = {spec.name: spec for spec in recipe_fields(cls)}
    unknown = [name for name in raw if name not in by_name]
    if unknown:
        close = closest_match(unknown[0], by_name)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise UsageError(f"unknown training setting(s) {', '.join(unknown)}{hint}; known: {', '.join(sorted(by_name))}")
    return {name: by_name[name].coerce(value, owner=owner) for name, value in raw.items()}
