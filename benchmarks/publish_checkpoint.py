"""Copy a run's best checkpoint into plugins/fer-weights/fer_weights/NAME, optionally as float16 or int8, and re-measure it.

    .venv/bin/python benchmarks/publish_checkpoint.py runs/reference/fer-fast fer-fast
    .venv/bin/python benchmarks/publish_checkpoint.py runs/gpu/v6-adamw-standard fer-accurate --int8

float16 storage halves the file, int8 (conv and linear weights with one float32 scale per output channel, see
fer_core/quantize.py) quarters it; either way the weights are float32 again once loaded. Because the rounding
can move a prediction, ``val_metrics`` in the published metadata are measured again on the stored weights (the
trainer's own numbers stay under ``training_val_metrics``), so `fer eval --checkpoint plugins/fer-weights/fer_weights/NAME --split val`
reproduces exactly what the metadata and benchmarks/reference.md say.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from fer_core.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from fer_core.training.evaluate import remeasure_val_metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="A run folder or checkpoint.")
    parser.add_argument("name", help="Writes OUT_DIR/NAME.safetensors and NAME.json; register NAME in fer-weights' pyproject.")
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--half", action="store_true", help="Store floating-point weights as float16.")
    storage.add_argument("--int8", action="store_true", help="Store conv and linear weights as int8 with per-channel scales.")
    parser.add_argument("--out-dir", type=Path, default=Path("plugins/fer-weights/fer_weights"))
    args = parser.parse_args(argv)

    source = resolve_checkpoint(args.run)
    model, meta = load_checkpoint(source)
    if args.half:
        model = model.half()
    meta = {**meta, "training_val_metrics": meta.get("val_metrics"), "published_from": str(source)}
    meta["stored_dtype"] = "float16" if args.half else "int8 weights, per-channel float32 scales" if args.int8 else "float32"
    with tempfile.TemporaryDirectory() as tmp:
        staged = save_checkpoint(Path(tmp) / args.name, model, meta, int8=args.int8)
        measured = remeasure_val_metrics(staged)
    meta["val_metrics"] = measured
    args.out_dir.mkdir(parents=True, exist_ok=True)
    weights = save_checkpoint(args.out_dir / args.name, model.to(torch.float16 if args.half else torch.float32), meta, int8=args.int8)
    trained = meta["training_val_metrics"] or {}
    print(
        f"{weights}: {weights.stat().st_size / 1e6:.2f} MB, PublicTest accuracy {measured['accuracy']:.4f} "
        f"macro-F1 {measured['macro_f1']:.4f} (as trained: {trained.get('accuracy', float('nan')):.4f} / "
        f"{trained.get('macro_f1', float('nan')):.4f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
