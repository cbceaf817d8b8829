"""``fer data info``: what a dataset spec loads to (format, classes, counts, image size, duplicates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fer_core.cli.console import err, out

data_app = typer.Typer(help="Inspect datasets: formats, classes, counts, duplicates.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


@data_app.command("info")
def info(
    spec: str = typer.Argument(..., help="A path (format detected), a dataset name (demo), NAME:PATH, or several joined by '+'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    classes: str = typer.Option("auto", "--classes", help="'auto' or a comma-separated list of classes to keep."),
    contempt: str = typer.Option("keep", "--contempt", help="keep: contempt is an 8th class; drop: its images are removed."),
    mapping: list[str] = typer.Option([], "--map", help="Map a source label to a class, e.g. --map 1=surprise (repeatable)."),
    on_bad: str = typer.Option("error", "--on-bad", help="error: stop at unreadable files; skip: warn, list and skip them."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of train carved out as val when the data has no val split."),
    seed: int = typer.Option(0, "--seed", help="Seed for carved splits."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Use the decode cache ($FER_CACHE_DIR or ~/.cache/fer)."),
    duplicates: bool = typer.Option(True, "--duplicates/--no-duplicates", help="Hash images to report exact duplicates."),
    data_opt: list[str] = typer.Option(
        [], "--data-opt", help="Dataset option KEY=VALUE as in fer train (repeatable), e.g. contempt=drop or train=300 for demo."
    ),
) -> None:
    """Describe a dataset: detected format, classes, per-split and per-class counts, image size and duplicates.

    ``--data-opt`` takes the options of ``fer train``/``fer eval`` (a key named like a flag here overrides it).
    """
    import warnings

    from fer_core.data.info import describe_dataset
    from fer_core.data.labels import parse_mapping
    from fer_core.data.loading import load_dataset
    from fer_core.options import parse_pairs

    options = parse_pairs(data_opt, "--data-opt")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_dataset(
            spec,
            classes=classes,
            contempt=contempt,
            mapping=parse_mapping(mapping),
            val_fraction=val_fraction,
            seed=seed,
            cache=cache,
            on_bad=on_bad,
            options=options,
        )
        described = describe_dataset(dataset, duplicates=duplicates)
    from rich.markup import escape

    for warning in caught:
        if issubclass(warning.category, UserWarning):
            err.print(f"[yellow]warning:[/] {escape(str(warning.message))}", highlight=False)
    if as_json:
        out.print_json(json.dumps(described))
        return
    _print_human(described)


def _print_human(info: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    if info.get("synthetic"):
        out.print(f"[bold yellow]{escape(info['note'])}[/]")
    where = f" at {escape(str(Path(info['path'])))}" if info.get("path") else ""
    out.print(f"[bold]{escape(info['name'])}[/]: {escape(str(info['format']))}{where}")
    out.print(f"protocol: {escape(info['protocol'])}")
    height, width = info["image_size"]
    kind = "grayscale" if info["channels"] == 1 else f"{info['channels']} channels"
    out.print(f"images: {info['total']:,} x {height}x{width} {kind} uint8")
    if info.get("splits_from"):
        out.print(f"splits from: {escape(str(info['splits_from']))}")
    if info.get("val_carved"):
        carved = info["val_carved"]
        grouped = ", grouped by subject" if carved.get("grouped") else ""
        out.print(f"val: carved from train ({carved['fraction']:.0%}, stratified{grouped}, seed {carved['seed']})")
    for part in info.get("components", []):
        sizes = ", ".join(f"{k} {v:,}" for k, v in part.items() if isinstance(v, int) and not isinstance(v, bool))
        out.print(f"part: {escape(part['name'])} ({escape(part['protocol'])}; {sizes})")
    for part, splits in (info.get("moved_to_train") or {}).items():
        out.print(f"moved to train: {escape(part)} {', '.join(splits)} (not every part has that split)")
    if info.get("subjects"):
        out.print(f"subjects: {info['subjects']}")
    table = Table(title=f"classes ({len(info['classes'])})", header_style="bold")
    table.add_column("split")
    for name in [*info["classes"], "total"]:
        table.add_column(name, justify="right", min_width=max(len(name), 6))
    for split, counts in info["counts"].items():
        table.add_row(split, *(f"{counts[c]:,}" for c in [*info["classes"], "total"]))
    out.print(table)
    if "duplicates" in info:
        out.print(_duplicates_line(info["duplicates"]))
    if info.get("skipped_files"):
        out.print(f"skipped files: {info['skipped_files']}")


def _duplicates_line(dups: dict[str, Any]) -> str:
    parts = [
        f"duplicates: {dups['distinct']:,} distinct of {dups['images']:,} images; "
        f"{dups['duplicate_groups']:,} groups of exact copies ({dups['groups_with_conflicting_labels']} with conflicting labels)"
    ]
    for key, cross in dups["cross_split"].items():
        later, _, earlier = key.partition("_in_")
        parts.append(
            f"{later} images with an exact copy in {earlier}: {cross['files_with_copy']:,} "
            f"({cross['with_a_differently_labelled_copy']} of them labelled differently there)"
        )
    blanks = sum(dups["blank_images"].values())
    if blanks:
        parts.append(f"blank (constant) images: {blanks}")
    return "\n".join(parts)
