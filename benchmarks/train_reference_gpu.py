"""Train the reference candidates side by side on one GPU inside a wall-clock budget, with plain `fer train` runs.

    python benchmarks/train_reference_gpu.py --data ../shared/data/fer2013 --budget 480 --out runs/gpu

Small 48x48 CNNs leave a big GPU mostly idle (one Python process cannot launch kernels fast enough), so the
plans run as concurrent processes. The budget is spent in two phases:

1. calibration: every plan trains at once, as it will later, for CALIBRATION_SECONDS; the median of its
   epoch times after the first (which includes cuDNN's kernel search) is its epoch time under that load
   (a fixed number of epochs would let the cheap plans finish early and the others look faster than they are);
2. training: each plan gets as many epochs as fit in what is left (at most its own cap), so its cosine
   schedule completes; `--time-budget` and, past the deadline, a kill are the safety nets. The trainer
   writes its best checkpoint and state atomically after every epoch, so a killed run keeps its best epoch.

Each run folder holds the usual best.safetensors/best.json (its exact `fer train` command inside),
history.json and plots; summary.json lists epochs, best epoch and PublicTest metrics per plan.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMON = ["--precision", "bf16", "--patience", "0", "--label-smoothing", "0.1", "--quiet"]
PLANS: dict[str, dict] = {
    # Khaireddin & Chen's recipe (VGG-style 64-128-256-512, SGD Nesterov 0.01) with cosine instead of plateau.
    "v6-sgd-strong": {
        "args": shlex.split("--model mycnn_v6 --optimizer sgd --lr 0.01 --weight-decay 5e-4 --batch-size 64 --augment torch:strong"),
        "max_epochs": 300,
    },
    "v6-adamw-standard": {
        "args": shlex.split("--model mycnn_v6 --optimizer adamw --lr 2e-3 --weight-decay 0.05 --batch-size 128 --augment torch:standard"),
        "max_epochs": 300,
    },
    "v5-sgd-strong": {
        "args": shlex.split("--model mycnn_v5 --optimizer sgd --lr 0.01 --weight-decay 5e-4 --batch-size 64 --augment torch:strong"),
        "max_epochs": 300,
    },
    # The CPU fer-accurate recipe (67.5% after 70 epochs, still rising), given the epochs the CPU could not.
    "v4-adamw-standard": {
        "args": shlex.split("--model mycnn_v4 --optimizer adamw --lr 2e-3 --weight-decay 0.01 --batch-size 64 --augment torch:standard"),
        "max_epochs": 300,
    },
}
CALIBRATION_SECONDS = 45
SAFETY = 0.9  # epochs are planned for this share of the time left: saving state and the final plots are not in `seconds`


def fer_train(plan: str, data: str, out: Path, epochs: int, device: str, threads: int, time_budget: float | None = None) -> list[str]:
    command = [sys.executable, "-m", "fer_core", "train", *PLANS[plan]["args"], *COMMON]
    command += ["--data", data, "--epochs", str(epochs), "--device", device, "--threads", str(threads), "--out", str(out)]
    if time_budget is not None:
        command += ["--time-budget", f"{time_budget:.0f}"]
    return command


def run_all(commands: dict[str, list[str]], logs: Path, deadline: float) -> dict[str, int]:
    """Start every command at once; kill what still runs at ``deadline``; return the exit codes."""
    logs.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, command in commands.items():
        log = (logs / f"{name}.log").open("w")
        log.write(" ".join(command) + "\n")
        log.flush()
        running[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    codes: dict[str, int] = {}
    while len(codes) < len(running):
        for name, process in running.items():
            if name not in codes and process.poll() is not None:
                codes[name] = process.returncode
        if time.time() > deadline:
            for name, process in running.items():
                if name not in codes:
                    process.kill()
                    codes[name] = -9
                    print(f"{name}: killed at the deadline (its best epoch so far is kept)", flush=True)
        time.sleep(1)
    return codes


def epoch_seconds(run: Path) -> float:
    seconds = [row["seconds"] for row in json.loads((run / "history.json").read_text())]
    return float(statistics.median(seconds[1:] or seconds))


def summarise(out: Path, plans: list[str], codes: dict[str, int]) -> list[dict]:
    rows = []
    for plan in plans:
        meta_path = out / plan / "best.json"
        if not meta_path.is_file():
            rows.append({"plan": plan, "exit": codes.get(plan), "error": "no checkpoint"})
            continue
        meta = json.loads(meta_path.read_text())
        history = json.loads((out / plan / "history.json").read_text())
        metrics = meta["val_metrics"]
        rows.append(
            {
                "plan": plan,
                "exit": codes.get(plan),
                "epochs_planned": meta["config"]["epochs"],
                "epochs_run": len(history),
                "best_epoch": meta["best_epoch"],
                "val_accuracy": metrics["accuracy"],
                "val_macro_f1": metrics["macro_f1"],
                "train_seconds": meta["train_seconds"],
                "device": meta.get("device"),
                "command": meta["command"],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/fer2013")
    parser.add_argument("--budget", type=float, required=True, help="Wall-clock seconds for calibration and training together.")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu"))
    parser.add_argument("--plans", nargs="+", default=list(PLANS), choices=list(PLANS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run.")
    parser.add_argument("--max-epochs", type=int, default=None, help="Cap every plan's epochs (smoke tests).")
    args = parser.parse_args(argv)

    started = time.time()
    deadline = started + args.budget
    from fer_core.data.loading import load_dataset

    load_dataset(args.data)  # decode once into the cache, so the concurrent runs all start from it
    calibration = args.out / "calibration"
    shutil.rmtree(calibration, ignore_errors=True)
    commands = {
        p: fer_train(p, args.data, calibration / p, 10_000, args.device, args.threads, time_budget=CALIBRATION_SECONDS) for p in args.plans
    }
    codes = run_all(commands, calibration / "logs", deadline)
    failed = [p for p, code in codes.items() if code != 0]
    for plan in failed:
        print(f"{plan}: calibration failed (exit {codes[plan]}); see {calibration / 'logs' / (plan + '.log')}", flush=True)
    plans = [p for p in args.plans if p not in failed]
    left = deadline - time.time()
    epochs = {}
    for plan in plans:
        seconds = epoch_seconds(calibration / plan)
        cap = min(PLANS[plan]["max_epochs"], args.max_epochs or math.inf)
        epochs[plan] = int(max(1, min(cap, left * SAFETY // seconds)))
        print(f"{plan}: {seconds:.2f} s/epoch under load -> {epochs[plan]} epochs in {left:.0f} s", flush=True)
    commands = {p: fer_train(p, args.data, args.out / p, epochs[p], args.device, args.threads, time_budget=left * 0.97) for p in plans}
    for plan in plans:
        shutil.rmtree(args.out / plan, ignore_errors=True)
    codes.update(run_all(commands, args.out / "logs", deadline))
    rows = summarise(args.out, args.plans, codes)
    (args.out / "summary.json").write_text(json.dumps({"budget_s": args.budget, "wall_s": time.time() - started, "runs": rows}, indent=1))
    for row in rows:
        print(json.dumps(row), flush=True)
    return 0 if all(code == 0 for code in codes.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
