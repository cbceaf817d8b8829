"""What the CK+ grid has cost and what is left, in CPU-hours of this 2-core machine.

    .venv/bin/python benchmarks/ckplus_cost.py benchmarks/ckplus_grid --reference mycnn_v4

Per model: the finished cells and their CPU-seconds (the sum of each epoch's ``cpu_seconds`` in history.json, which
counts this process only, so a loaded machine inflates it less than wall time). A model's unfinished cells are
projected from its own finished cells of the same balancer; a model with none from ``--reference`` scaled by the
ratio of training speeds in benchmarks/zoo.md (b32, idle machine). Projections are estimates; the rest is measured.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from fer_core.bench.store import read_run, run_jobs

ZOO = Path(__file__).with_name("zoo.md")


def zoo_train_speeds(path: Path = ZOO) -> dict[str, float]:
    """model -> training img/s (b32) from the zoo table."""
    speeds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and re.fullmatch(r"[\d,.]+", cells[6]):
            speeds[cells[0]] = float(cells[6].replace(",", ""))
    return speeds


def cell_costs(run_dir: Path) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, int]]]:
    """model -> balancer -> CPU-seconds of each finished cell; and model -> balancer -> cells planned."""
    done: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    planned: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for job in run_jobs(read_run(run_dir)):
        planned[job.model][job.balancer] += 1
        try:
            epochs = json.loads((run_dir / job.cell_dir / "history.json").read_text(encoding="utf-8"))
            if json.loads((run_dir / job.cell_dir / "result.json").read_text(encoding="utf-8")).get("status") != "ok":
                continue
        except (OSError, ValueError):
            continue
        done[job.model][job.balancer].append(sum(float(e.get("cpu_seconds", 0.0)) for e in epochs))
    return done, planned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the grid's run folder or its archive")
    parser.add_argument("--reference", default="mycnn_v4", help="a finished model to project the unstarted ones from")
    args = parser.parse_args(argv)
    done, planned = cell_costs(args.run)
    speeds = zoo_train_speeds()
    reference = done.get(args.reference, {})
    print("| model | cells done | CPU-h done | CPU-h left (projected) | basis |")
    print("|---|---:|---:|---:|---|")
    total_done = total_left = 0.0
    for model, balancers in planned.items():
        spent = sum(sum(v) for v in done[model].values())
        left, bases = 0.0, set()
        for balancer, count in balancers.items():
            have = done[model][balancer]
            missing = count - len(have)
            if not missing:
                continue
            if have:
                left += missing * statistics.fmean(have)
                bases.add("own cells")
            elif reference.get(balancer) and model in speeds and args.reference in speeds:
                left += missing * statistics.fmean(reference[balancer]) * speeds[args.reference] / speeds[model]
                bases.add(f"{args.reference} x zoo speed ratio {speeds[args.reference] / speeds[model]:.1f}")
            elif (own := next((b for b, v in done[model].items() if v and reference.get(b)), None)) and reference.get(balancer):
                ratio = statistics.fmean(reference[balancer]) / statistics.fmean(reference[own])
                left += missing * statistics.fmean(done[model][own]) * ratio
                bases.add(f"own {own} cells x {args.reference}'s balancer ratios")
            else:
                bases.add("no basis")
        cells = sum(len(v) for v in done[model].values())
        basis = ", ".join(sorted(bases)) or "measured"
        print(f"| {model} | {cells}/{sum(balancers.values())} | {spent / 3600:.2f} | {left / 3600:.2f} | {basis} |")
        total_done, total_left = total_done + spent, total_left + left
    print(f"| all | | {total_done / 3600:.2f} | {total_left / 3600:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
