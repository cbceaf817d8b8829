"""python -m fer_ensemble CKPT CKPT [...] --out runs/NAME [--half] [--data DATA]: build and measure an ensemble."""

from __future__ import annotations

import argparse
import sys

from fer_core.checkpoint import read_metadata, save_checkpoint
from fer_core.errors import FerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ensemble", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="Two or more fer checkpoints with the same classes and preprocessing.")
    parser.add_argument("--out", required=True, help="Output checkpoint (writes OUT.safetensors and OUT.json).")
    parser.add_argument("--half", action="store_true", help="Store the weights as float16 (loading casts back to float32).")
    parser.add_argument("--data", help="Measure the ensemble on this dataset's val split and record it (default: the members' data).")
    parser.add_argument("--no-eval", action="store_true", help="Do not measure; val_metrics stay empty.")
    args = parser.parse_args(argv)
    try:
        from fer_core.checkpoint import load_checkpoint
        from fer_core.training.evaluate import remeasure_val_metrics
        from fer_ensemble.assemble import assemble

        command = "python -m fer_ensemble " + " ".join(sys.argv[1:] if argv is None else argv)
        weights = assemble(args.checkpoints, args.out, half=args.half, command=command)
        meta = read_metadata(weights)
        data = args.data or (meta.get("data") or {}).get("spec")
        if not args.no_eval and data:
            measured = meta["val_metrics"] = remeasure_val_metrics(weights, args.data)
            model, _ = load_checkpoint(weights)
            save_checkpoint(weights, model.half() if args.half else model, meta)
            print(f"{weights}: val accuracy {measured['accuracy']:.4f}, macro-F1 {measured['macro_f1']:.4f} ({measured['n']} images)")
        else:
            print(weights)
    except FerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
