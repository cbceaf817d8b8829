"""The options of `fer predict` and `fer export`, declared once as typed aliases for the command signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CHECKPOINT = "fer-fast"  # installed named weights (fer-weights); see `fer list weights`
PREDICT_HELP = "Installed weights name (`fer list weights`), a .safetensors file or a .onnx export"

# what to read
Paths = Annotated[
    list[str] | None,
    typer.Argument(help="Images, folders, globs ('photos/*.jpg') or video files. With --webcam: an optional camera index."),
]
Checkpoint = Annotated[str | None, typer.Option("--checkpoint", "-c", help=f"{PREDICT_HELP} (default: {DEFAULT_CHECKPOINT}).")]
Webcam = Annotated[bool, typer.Option("--webcam", help="Read a camera: `--webcam` (camera 0) or `--webcam INDEX`; Ctrl-C stops.")]

# how to find and cut faces
NoDetect = Annotated[bool, typer.Option("--no-detect", help="Treat every image as an already cropped face.")]
DetectorName = Annotated[
    str, typer.Option("--detector", help="Face detector plugin (`fer list detectors`); auto: the highest-priority one.")
]
DetectorOpts = Annotated[list[str] | None, typer.Option("--detector-opt", metavar="KEY=VALUE", help="Detector option, repeatable.")]
Margin = Annotated[
    float | None,
    typer.Option("--margin", help="Box margin per side for detectors without landmarks (default: the checkpoint's, 0.1)."),
]
NoAlign = Annotated[bool, typer.Option("--no-align", help="Crop the detector's box instead of aligning on its landmarks.")]

# how to run the model
Batch = Annotated[int, typer.Option("--batch", "-b", min=1, help="Images or frames per inference batch.")]
RuntimeName = Annotated[str, typer.Option("--runtime", help="auto (ONNX Runtime when installed, else torch), torch or onnx.")]
Device = Annotated[str, typer.Option("--device", help="cpu, auto (the first CUDA GPU if any), cuda, cuda:1, ...")]

# video
Every = Annotated[int, typer.Option("--every", min=1, help="Analyse every N-th video frame (all frames are still annotated).")]
MaxFrames = Annotated[int | None, typer.Option("--max-frames", min=1, help="Stop each video or the webcam after N frames.")]
Smooth = Annotated[
    int, typer.Option("--smooth", min=0, help="Video: EMA window (analysed frames) per tracked face; 0 turns smoothing off.")
]

# output
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document (schema 1) at the end, also after a failure or Ctrl-C.")]
AsJsonl = Annotated[bool, typer.Option("--jsonl", help="Print one JSON record per image or frame as soon as it is made.")]
AsCsv = Annotated[bool, typer.Option("--csv", help="Print CSV, one row per face (or per image without faces).")]
Annotate = Annotated[
    Path | None,
    typer.Option(
        "--annotate",
        metavar="OUT_DIR",
        help="Write NAME.annotated.EXT images, videos (mp4) and video timelines (CSV, PNG) here; never over an input.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line on stderr.")]

# fer export
ExportCheckpoint = Annotated[
    str | None,
    typer.Option("--checkpoint", "-c", help=f"Installed weights name or a fer .safetensors checkpoint (default: {DEFAULT_CHECKPOINT})."),
]
ExportFormat = Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="onnx or torchscript.")]
ExportQuiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary line on stderr; only the path on stdout.")]
ExportOut = Annotated[
    Path | None, typer.Option("--out", "-o", metavar="PATH", help="Output file or folder (default: next to the checkpoint).")
]
