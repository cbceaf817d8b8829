"""`fer predict` (photos, folders, videos, webcam) and `fer export` (ONNX, TorchScript)."""

from __future__ import annotations

from pathlib import Path

import typer

from fer_core.cli.predict_output import PredictOutput

DEFAULT_CHECKPOINT = "fer-fast"  # installed named weights (fer-weights); see `fer list weights`


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict(
        paths: list[str] = typer.Argument(
            None, help="Images, folders, globs ('photos/*.jpg') or video files. With --webcam: an optional camera index."
        ),
        checkpoint: str | None = typer.Option(
            None,
            "--checkpoint",
            "-c",
            help=f"Installed weights name (`fer list weights`), a .safetensors file or a .onnx export (default: {DEFAULT_CHECKPOINT}).",
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print one JSON document (schema 1) at the end, also after a failure or Ctrl-C."
        ),
        as_jsonl: bool = typer.Option(False, "--jsonl", help="Print one JSON record per image or frame as soon as it is made."),
        as_csv: bool = typer.Option(False, "--csv", help="Print CSV, one row per face (or per image without faces)."),
        annotate: Path | None = typer.Option(
            None,
            "--annotate",
            metavar="OUT_DIR",
            help="Write NAME.annotated.EXT images, videos (mp4) and video timelines (CSV, PNG) here; never over an input.",
        ),
        batch: int = typer.Option(32, "--batch", "-b", min=1, help="Images or frames per inference batch."),
        no_detect: bool = typer.Option(False, "--no-detect", help="Treat every image as an already cropped face."),
        detector: str = typer.Option(
            "auto", "--detector", help="Face detector plugin (`fer list detectors`); auto: the highest-priority one."
        ),
        detector_opts: list[str] = typer.Option(None, "--detector-opt", metavar="KEY=VALUE", help="Detector option, repeatable."),
        runtime: str = typer.Option("auto", "--runtime", help="auto (ONNX Runtime when installed, else torch), torch or onnx."),
        device: str = typer.Option("cpu", "--device", help="cpu, auto (the first CUDA GPU if any), cuda, cuda:1, ..."),
        every: int = typer.Option(1, "--every", min=1, help="Analyse every N-th video frame (all frames are still annotated)."),
        max_frames: int | None = typer.Option(None, "--max-frames", min=1, help="Stop each video or the webcam after N frames."),
        margin: float | None = typer.Option(
            None, "--margin", help="Box margin per side for detectors without landmarks (default: the checkpoint's, 0.1)."
        ),
        no_align: bool = typer.Option(False, "--no-align", help="Crop the detector's box instead of aligning on its landmarks."),
        smooth: int = typer.Option(
            5, "--smooth", min=0, help="Video: EMA window (analysed frames) per tracked face; 0 turns smoothing off."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line on stderr."),
        webcam: bool = typer.Option(False, "--webcam", help="Read a camera: `--webcam` (camera 0) or `--webcam INDEX`; Ctrl-C stops."),
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

        if sum((as_json, as_jsonl, as_csv)) > 1:
            raise UsageError("choose one of --json, --jsonl and --csv")
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
        header = {
            "checkpoint": str(weights),
            "weights": checkpoint if checkpoint and str(weights) != checkpoint else (DEFAULT_CHECKPOINT if checkpoint is None else None),
            "model": predictor.meta["model"],
            "classes": list(predictor.classes),
            "runtime": predictor.runtime.name,
            "detector": predictor.detector_name,
            "smooth": smooth,
        }
        fmt = "json" if as_json else "jsonl" if as_jsonl else "csv" if as_csv else "text"
        with PredictOutput(fmt, header, predictor.classes, quiet=quiet) as output:
            job = PredictJob(
                predictor,
                detect=not no_detect,
                annotate_dir=annotate,
                every=every,
                batch=batch,
                max_frames=max_frames,
                smooth=smooth,
                on_progress=output.advance,
            )
            output.job = job
            stream = job.run_webcam(camera) if camera is not None else job.run(paths)
            for record in stream:
                output.add(record)
        if output.failed:
            raise typer.Exit(1)

    @app.command("export")
    def export(
        checkpoint: str | None = typer.Option(
            None, "--checkpoint", "-c", help=f"Installed weights name or a fer .safetensors checkpoint (default: {DEFAULT_CHECKPOINT})."
        ),
        fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or torchscript."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output file or folder (default: next to the checkpoint)."),
    ) -> None:
        """Export a checkpoint to ONNX (opset 17, dynamic batch) or TorchScript.

        The export outputs class probabilities and carries the fer metadata (and a .json sidecar).
        """
        from fer_core.predict.export import export_checkpoint, sidecar_path
        from fer_core.predict.weights import resolve_weights

        weights = resolve_weights(checkpoint)
        if out is None and not is_user_path(checkpoint):
            out = Path.cwd()  # never write into an installed package: an export of named weights goes here
        target = export_checkpoint(weights, fmt, out)
        typer.echo(str(target))
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
