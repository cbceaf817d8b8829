"""`fer predict` (photos, folders, videos, webcam) and `fer export` (ONNX, TorchScript)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fer_core.cli import predict_options as opt
from fer_core.cli.predict_options import DEFAULT_CHECKPOINT
from fer_core.cli.predict_output import PredictOutput

if TYPE_CHECKING:
    from fer_core.predict.pipeline import PredictJob
    from fer_core.predict.predictor import Predictor


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
    app.command("export")(export)


def predict(
    paths: opt.Paths = None,
    checkpoint: opt.Checkpoint = None,
    as_json: opt.AsJson = False,
    as_jsonl: opt.AsJsonl = False,
    as_csv: opt.AsCsv = False,
    annotate: opt.Annotate = None,
    batch: opt.Batch = 32,
    no_detect: opt.NoDetect = False,
    detector: opt.DetectorName = "auto",
    detector_opts: opt.DetectorOpts = None,
    runtime: opt.RuntimeName = "auto",
    device: opt.Device = "cpu",
    every: opt.Every = 1,
    max_frames: opt.MaxFrames = None,
    margin: opt.Margin = None,
    no_align: opt.NoAlign = False,
    smooth: opt.Smooth = 5,
    quiet: opt.Quiet = False,
    webcam: opt.Webcam = False,
) -> None:
    """Detect faces and classify their emotions in photos, folders, videos or a webcam.

    Exit code 0 when every input was read, 1 when any failed (each failure is reported and skipped), 2 for bad options,
    130 on Ctrl-C (what was finished is printed first).
    """
    from fer_core.errors import UsageError
    from fer_core.options import parse_pairs
    from fer_core.predict.pipeline import PredictJob
    from fer_core.predict.predictor import Predictor
    from fer_core.predict.weights import resolve_weights

    fmt = output_format(as_json, as_jsonl, as_csv)
    camera = camera_index(paths or [], webcam)
    if camera is None and not paths:
        raise UsageError("give at least one PATH (image, folder, glob or video), or --webcam")
    options = parse_pairs(detector_opts or [], "--detector-opt")
    if no_detect and options:
        raise UsageError("--detector-opt has no effect with --no-detect")
    if annotate is not None:
        check_writable_folder(annotate, "--annotate")
    weights = resolve_weights(checkpoint)
    predictor = Predictor.from_checkpoint(
        weights,
        detector=None if no_detect else detector,
        detector_options=None if no_detect else options,
        runtime=runtime,
        device=predict_device(device),
        margin=margin,
        align=not no_align,
        batch_size=batch,
    )
    job = PredictJob(predictor, detect=not no_detect, annotate_dir=annotate, every=every, batch=batch, max_frames=max_frames, smooth=smooth)
    run_job(job, fmt, output_header(predictor, checkpoint, str(weights), smooth), camera, paths or [], quiet)


def output_format(as_json: bool, as_jsonl: bool, as_csv: bool) -> str:
    from fer_core.errors import UsageError

    if sum((as_json, as_jsonl, as_csv)) > 1:
        raise UsageError("choose one of --json, --jsonl and --csv")
    return "json" if as_json else "jsonl" if as_jsonl else "csv" if as_csv else "text"


def output_header(predictor: Predictor, checkpoint: str | None, weights: str, smooth: int) -> dict[str, Any]:
    """What the JSON document says about the run before its results; ``weights`` is the installed name, if one was used."""
    named = DEFAULT_CHECKPOINT if checkpoint is None else (checkpoint if weights != checkpoint else None)
    return {
        "checkpoint": weights,
        "weights": named,
        "model": predictor.meta["model"],
        "classes": list(predictor.classes),
        "runtime": predictor.runtime.name,
        "detector": predictor.detector_name,
        "smooth": smooth,
    }


def run_job(job: PredictJob, fmt: str, header: dict[str, Any], camera: int | None, paths: list[str], quiet: bool) -> None:
    """Hand every record to the output as it is made; exit 1 at the end when any input failed."""
    stream = job.run_webcam(camera) if camera is not None else job.run(paths)  # a missing camera fails here, alone
    with PredictOutput(fmt, header, job.predictor.classes, quiet=quiet) as output:
        job.on_progress = output.advance
        output.job = job
        for record in stream:
            output.add(record)
    if output.failed:
        raise typer.Exit(1)


def export(
    checkpoint: opt.ExportCheckpoint = None, fmt: opt.ExportFormat = "onnx", out: opt.ExportOut = None, quiet: opt.ExportQuiet = False
) -> None:
    """Export a checkpoint to ONNX (opset 17, dynamic batch) or TorchScript.

    The export outputs class probabilities and carries the fer metadata (and a .json sidecar). Prints the
    export's path on stdout.
    """
    from contextlib import nullcontext

    from fer_core.cli.console import err
    from fer_core.predict.export import export_checkpoint, sidecar_path
    from fer_core.predict.weights import resolve_weights

    weights = resolve_weights(checkpoint)
    if out is None and not is_user_path(checkpoint):
        out = Path.cwd()  # never write into an installed package: an export of named weights goes here
    working = err.status(f"exporting {checkpoint or DEFAULT_CHECKPOINT} to {fmt} ...") if err.is_terminal and not quiet else nullcontext()
    with working:
        target = export_checkpoint(weights, fmt, out)
    typer.echo(str(target))
    if not quiet:
        info(f"wrote {target} and its metadata {sidecar_path(target)}")


def camera_index(paths: list[str], webcam: bool) -> int | None:
    from fer_core.errors import UsageError

    if not webcam:
        return None
    if not paths:
        return 0
    if len(paths) == 1 and paths[0].isdigit():
        return int(paths[0])
    raise UsageError("--webcam takes an optional camera index (e.g. --webcam 1), not file paths")


def is_user_path(checkpoint: str | None) -> bool:
    from fer_core.predict.weights import installed_weights, is_bare_name

    if checkpoint is None:
        return False
    return not (is_bare_name(checkpoint) and checkpoint.lower() in {n.lower() for n in installed_weights()})


def predict_device(spec: str) -> str:
    """``auto`` -> the first CUDA GPU torch sees, else cpu (as `fer train --device auto`); others are checked by the runtime."""
    if spec != "auto":
        return spec
    from fer_core.training.device import resolve_device

    return str(resolve_device("auto"))


def check_writable_folder(folder: Path, flag: str) -> None:
    """Fail before any work when the output folder cannot be made or written (not after the first image)."""
    import os

    from fer_core.errors import UsageError

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{flag} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {folder}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {folder}: not writable")


def warn(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def info(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(escape(message), highlight=False)
