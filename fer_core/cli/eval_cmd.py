"""`fer eval`: metrics of a fer checkpoint (a path or an installed weights name) on one split, or every split, of a dataset."""

from __future__ import annotations

import json
from typing import Any

import typer

from fer_core.cli.console import out


def metrics_table(result: dict[str, Any]) -> Any:
    """Per-class precision, recall, F1 and support, then every per-split metric of the results schema."""
    from rich.markup import escape
    from rich.table import Table

    from fer_core.bench.schema import split_metrics

    title = escape(
        f"{result['model']} on {result['data']} [{result['split']}], {result['n']} images"
        + (f", {result['excluded_train_duplicates']} train duplicates excluded" if result["excluded_train_duplicates"] else "")
        + (" (SYNTHETIC data)" if result["synthetic"] else "")
    )
    table = Table(title=title, header_style="bold", caption=f"protocol {result['protocol']}" + _dropped_note(result))
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in result["per_class"].items():
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    table.add_section()
    for i, m in enumerate(split_metrics()):
        table.add_row(m.header, "", "", m.format(result.get(m.name)), str(result["n"]) if i == 0 else "")
    tta = result.get("with_tta")
    if tta:
        table.add_section()
        table.add_row(f"accuracy, {tta['tta']} TTA", "", "", f"{tta['accuracy']:.4f}", str(tta["n"]))
        table.add_row(f"macro-F1, {tta['tta']} TTA", "", "", f"{tta['macro_f1']:.4f}", "")
    return table


def _dropped_note(result: dict[str, Any]) -> str:
    """What shared-class scoring left out, for a caption; empty when the classes matched."""
    if "scored_classes" not in result:
        return ""
    dropped = ", ".join(f"{name} ({count} images)" for name, count in result["classes_dropped"].items()) or "none"
    unscored = ", ".join(result["model_classes_unscored"]) or "none"
    return f"; shared classes only: dropped {dropped}; model classes not in the data: {unscored}"


def splits_table(results: dict[str, dict[str, Any]]) -> Any:
    """``--split all``: one row per split (and ``all``, every image), the schema's metrics."""
    from rich.markup import escape
    from rich.table import Table

    from fer_core.bench.schema import split_metrics

    first = next(iter(results.values()))
    title = escape(f"{first['model']} on {first['data']}, every split" + (" (SYNTHETIC data)" if first["synthetic"] else ""))
    whole = results.get("all", first) if len(results) > 1 else first
    table = Table(title=title, header_style="bold", caption=f"protocol {first['protocol']}" + _dropped_note(whole))
    metrics = split_metrics()
    for header in ("split", "images", *[m.short for m in metrics]):
        table.add_column(header, justify="left" if header == "split" else "right", no_wrap=True)
    for name, result in results.items():
        table.add_row(name, f"{result['n']:,}", *[m.format(result.get(m.name), short=True) for m in metrics])
    return table


def json_report(result: dict[str, Any]) -> str:
    """``fer eval --json``: the context, then the results schema's metrics in its order (null when not measured), then
    the details (per class, confusion, loss, TTA). A non-finite number is refused: bare NaN is not JSON."""
    from fer_core.bench.schema import eval_summary

    context = ("checkpoint", "model", "data", "protocol", "synthetic", "split", "excluded_train_duplicates", "n")
    ordered = {key: result[key] for key in context if key in result}
    ordered.update(eval_summary(result))
    ordered.update({key: value for key, value in result.items() if key not in ordered})
    return _dumps(ordered, result.get("checkpoint"))


def json_splits_report(results: dict[str, dict[str, Any]]) -> str:
    """``fer eval --split all --json``: ``json_report``'s object for each split, keyed by split."""
    return _dumps({name: json.loads(json_report(result)) for name, result in results.items()}, None)


def _dumps(data: dict[str, Any], checkpoint: Any) -> str:
    from fer_core.errors import CheckpointError

    try:
        return json.dumps(data, indent=2, allow_nan=False)
    except ValueError:
        raise CheckpointError(f"{checkpoint}: the model gives non-finite outputs (NaN or inf), no metrics") from None


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        checkpoint: str = typer.Option(
            ...,
            "--checkpoint",
            "-c",
            metavar="PATH|NAME",
            help="A fer checkpoint (.safetensors, its .json, a run folder) or installed weights (fer-fast; `fer list weights`).",
        ),
        data: str | None = typer.Option(
            None, "--data", "-d", metavar="SPEC", help="Dataset spec (default: the one the checkpoint was trained on)."
        ),
        data_opt: list[str] = typer.Option([], "--data-opt", metavar="KEY=VALUE", help="Dataset source option KEY=VALUE (repeatable)."),
        split: str = typer.Option(
            "val", "--split", metavar="SPLIT", help="val, test or train; all: every split in one table, plus all images pooled."
        ),
        tta: str = typer.Option("none", "--tta", metavar="MODE", help="Test-time augmentation: none, flip or tencrop."),
        exclude_train_duplicates: bool = typer.Option(
            False, "--exclude-train-duplicates", help="Leave out images with a pixel-identical copy in the train split."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print every metric as JSON."),
    ) -> None:
        """Evaluate a checkpoint: accuracy, macro/weighted-F1, per-class P/R/F1, confusion matrix. Loads only safetensors."""
        from fer_core.checkpoint import read_metadata
        from fer_core.errors import UsageError
        from fer_core.options import parse_pairs
        from fer_core.predict.weights import resolve_weights
        from fer_core.training.evaluate import ALL, evaluate_checkpoint, evaluate_every_split

        weights = resolve_weights(checkpoint)  # an installed name (fer-fast) or a path
        data_options: dict[str, Any] = dict(parse_pairs(data_opt, "--data-opt"))
        if data is None:
            recorded = read_metadata(weights).get("data") or {}
            data, data_options = recorded.get("spec"), {**recorded.get("options", {}), **data_options}
            if not data:
                raise UsageError("the checkpoint does not record its dataset; pass --data")
        if split == ALL:
            if exclude_train_duplicates:
                raise UsageError("--exclude-train-duplicates takes one split (val or test), not --split all")
            every = evaluate_every_split(weights, data, tta=tta, data_options=data_options)
            if as_json:
                typer.echo(json_splits_report(every))
                return
            out.print(splits_table(every), soft_wrap=False)  # the caption wraps at the table width
            return
        result = evaluate_checkpoint(
            weights, data, split=split, tta=tta, exclude_train_duplicates=exclude_train_duplicates, data_options=data_options
        )
        if as_json:
            typer.echo(json_report(result))
            return
        out.print(metrics_table(result), soft_wrap=False)
