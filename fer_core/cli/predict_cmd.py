"""`fer predict` (photos, folders, videos, webcam) and `fer export` (ONNX, TorchScript)."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_CHECKPOINT = Path("checkpoints/fer-fast.safetensors")


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict(
        paths: list[str] = typer.Argument(None, help="Images, folders of images, or video files. With --webcam: an optional camera index."),
        checkpoint: str | None = typer.Option(
            None, "--checkpoint", "-c", help=f"A fer .safetensors checkpoint or a `fer export` .onnx file (default: {DEFAULT_CHECKPOINT})."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (schema 1) instead of lines."),
        as_csv: bool = typer.Option(False, "--csv", help="Print CSV, one row per face (or per image without faces)."),
        annotate: Path | None = typer.Option(
            None, "--annotate", metavar="OUT_DIR", help="Write annotated images, videos (mp4) and video timelines (CSV, PNG) here."
        ),
        batch: int = typer.Option(32, "--batch", "-b", min=1, help="Images or frames per inference batch."),
        no_detect: bool = typer.Option(False, "--no-detect", help="Treat every image as an already cropped face."),
        detector: str = typer.Option("haar", "--detector", help="Face detector plugin (`fer list detectors`)."),
        detector_opts: list[str] = typer.Option(None, "--detector-opt", metavar="KEY=VALUE", help="Detector option, repeatable."),
        runtime: str = typer.Option("torch", "--runtime", help="torch, or onnx (needs onnxruntime: the onnx extra of fer-core)."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
        every: int = typer.Option(1, "--every", min=1, help="Analyse every N-th video frame (all frames are still annotated)."),
        max_frames: int | None = typer.Option(None, "--max-frames", min=1, help="Stop each video or the webcam after N frames."),
        margin: float = typer.Option(0.1, "--margin", help="Grow each face box by this fraction per side before cropping."),
        webcam: bool = typer.Option(False, "--webcam", help="Read a camera: `--webcam` (camera 0) or `--webcam INDEX`; Ctrl-C stops."),
    ) -> None:
        """Detect faces and classify their emotions in photos, folders, videos or a webcam.

        Exit code 0 when every input was read, 1 when any failed (each failure is reported and skipped), 2 for bad options.
        """
        import json

        from fer_core.errors import UsageError
        from fer_core.predict.pipeline import PredictJob
        from fer_core.predict.predictor import Predictor
        from fer_core.predict.report import csv_text, json_document, summarize, text_lines

        if as_json and as_csv:
            raise UsageError("choose one of --json and --csv")
        camera = camera_index(paths or [], webcam)
        if camera is None and not paths:
            raise UsageError("give at least one PATH (image, folder or video), or --webcam")
        options = parse_options(detector_opts or [], "--detector-opt")
        weights = checkpoint_path(checkpoint)
        predictor = Predictor.from_checkpoint(
            weights,
            detector=None if no_detect else detector,
            detector_options=None if no_detect else options,
            runtime=runtime,
            device=device,
            margin=margin,
            batch_size=batch,
        )
        job = PredictJob(predictor, detect=not no_detect, annotate_dir=annotate, every=every, batch=batch, max_frames=max_frames)
        stream = job.run_webcam(camera) if camera is not None else job.run(paths)
        records = []
        for record in stream:
            records.append(record)
            if as_json or as_csv:
                if record.error is not None:
                    warn(f"{record.error}; skipped")
            else:
                for line in text_lines(record):
                    typer.echo(line)
        if as_json:
            header = {
                "checkpoint": str(weights),
                "model": predictor.meta["model"],
                "classes": list(predictor.classes),
                "runtime": predictor.runtime.name,
                "detector": None if no_detect else detector,
            }
            typer.echo(json.dumps(json_document(records, header), indent=2))
        elif as_csv:
            typer.echo(csv_text(records, predictor.classes), nl=False)
        counts = summarize(records)
        note = f"; annotated output in {annotate}" if annotate is not None and job.written else ""
        info(
            f"{counts['inputs']} images/frames: {counts['faces']} faces, "
            f"{counts['no_face']} without a face, {counts['failed']} failed{note}"
        )
        if counts["failed"]:
            raise typer.Exit(1)

    @app.command("export")
    def export(
        checkpoint: str | None = typer.Option(
            None, "--checkpoint", "-c", help=f"A fer .safetensors checkpoint (default: {DEFAULT_CHECKPOINT})."
        ),
        fmt: str = typer.Option("onnx", "--format", "-f", help="onnx or torchscript."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output file or folder (default: next to the checkpoint)."),
    ) -> None:
        """Export a checkpoint to ONNX (opset 17, dynamic batch) or TorchScript.

        The export outputs class probabilities and carries the fer metadata (and a .json sidecar).
        """
        from fer_core.predict.export import export_checkpoint, sidecar_path

        target = export_checkpoint(checkpoint_path(checkpoint), fmt, out)
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


def checkpoint_path(checkpoint: str | None) -> Path:
    from fer_core.errors import UsageError

    if checkpoint is not None:
        return Path(checkpoint)
    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT
    raise UsageError(f"no checkpoint given and {DEFAULT_CHECKPOINT} does not exist; pass --checkpoint PATH (a fer .safetensors file)")


def parse_options(pairs: list[str], flag: str) -> dict[str, object]:
    """``["min_size=40", "equalize=false"]`` -> ``{"min_size": 40, "equalize": False}`` (ints, floats, booleans, else text)."""
    from fer_core.errors import UsageError

    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got '{pair}'")
        options[key.strip()] = parse_value(raw.strip())
    return options


def parse_value(raw: str) -> object:
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


def warn(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def info(message: str) -> None:
    from rich.markup import escape

    from fer_core.cli.console import err

    err.print(escape(message), highlight=False)
