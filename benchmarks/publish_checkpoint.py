"""Copy a run's best checkpoint into checkpoints/NAME, optionally with float16 weights, and re-measure it.

    .venv/bin/python benchmarks/publish_checkpoint.py runs/reference/fer-fast fer-fast
    .venv/bin/python benchmarks/publish_checkpoint.py runs/reference/fer-accurate fer-accurate --half

float16 storage halves the file (git-friendly); the weights are cast back to float32 when loaded. Because that cast
can move a prediction, ``val_metrics`` in the published metadata are measured again on the stored weights (the
trainer's own numbers stay under ``training_val_metrics``), so `fer eval --checkpoint checkpoints/NAME --split val`
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
    parser.add_argument("name", help="Published name: writes checkpoints/NAME.safetensors and checkpoints/NAME.json.")
    parser.add_argument("--half", action="store_true", help="Store floating-point weights as float16.")
    parser.add_argument("--out-dir", type=Path, default=Path("checkpoints"))
    args = parser.parse_args(argv)

    source = resolve_checkpoint(args.run)
    model, meta = load_checkpoint(source)
    if args.half:
        model = model.half()
    meta = {**meta, "training_val_metrics": meta.get("val_metrics"), "published_from": str(source)}
    meta["stored_dtype"] = "float16" if args.half else "float32"
    with tempfile.TemporaryDirectory() as tmp:
        staged = save_checkpoint(Path(tmp) / args.name, model, meta)
        measured = remeasure_val_metrics(staged)
    meta["val_metrics"] = measured
    args.out_dir.mkdir(parents=True, exist_ok=True)
    weights = save_checkpoint(args.out_dir / args.name, model.to(torch.float16 if args.half else torch.float32), meta)
    trained = meta["training_val_metrics"] or {}
    print(
        f"{weights}: {weights.stat().st_size / 1e6:.2f} MB, PublicTest accuracy {measured['accuracy']:.4f} "
        f"macro-F1 {measured['macro_f1']:.4f} (as trained: {trained.get('accuracy', float('nan')):.4f} / "
        f"{trained.get('macro_f1', float('nan')):.4f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
