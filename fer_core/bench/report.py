"""report.md: the leaderboard and everything needed to read it honestly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fer_core.bench.cell import ERROR_FILE, CellResult
from fer_core.bench.jobs import Job
from fer_core.bench.results import UNFINISHED, Results

SYNTHETIC_WARNING = (
    "> **SYNTHETIC DATA.** Every number below was measured on generated images, not on real faces. "
    "It shows that the pipeline runs end to end; it says nothing about how well any model recognises facial expressions."
)


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def _int(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else "-"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _numeric(text: str) -> bool:
    head = text.split(" ")[0].replace(",", "")
    try:
        float(head)
    except ValueError:
        return head == "-"
    return True


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[_md_cell(v) for v in row] for row in rows]
    right = [bool(cells) and all(_numeric(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---:" if r else "---" for r in right) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return lines


def _data_section(results: Results, run: dict[str, Any]) -> list[str]:
    data = results.dataset
    spec = run.get("spec", {})
    lines = []
    if data:
        splits = ", ".join(f"{name} {count:,}" for name, count in data.get("splits", {}).items())
        lines += [
            f"- **Data:** `{spec.get('data', '?')}` = {data.get('name', '?')}, protocol `{data.get('protocol', '?')}`"
            f"{' (**synthetic**)' if data.get('synthetic') else ''}; images per split: {splits}.",
            f"- **Classes ({len(results.classes)}):** {', '.join(results.classes)}.",
        ]
    else:
        lines.append(f"- **Data:** `{spec.get('data', '?')}` (no cell loaded it successfully).")
    split_name = "test" if results.ranking_split == "test" else "validation"
    lines.append(f"- **Ranked by** macro-F1 on the {split_name} split; the validation split selected each cell's best epoch.")
    return lines


def _settings_section(run: dict[str, Any]) -> list[str]:
    spec = run.get("spec", {})
    budget = spec.get("time_budget_s")
    settings = [
        f"epochs {spec.get('epochs') if spec.get('epochs') is not None else 'trainer default'}",
        f"time budget per cell {f'{budget:g} s' if budget else 'none'}",
        f"augmentation {spec.get('augment') or 'trainer default'}",
        f"seeds {', '.join(str(s) for s in spec.get('seeds', []))}",
    ]
    settings += [f"{key} {value}" for key, value in sorted(spec.get("overrides", {}).items())]
    env = run.get("environment", {})
    lines = [f"- **Settings:** {'; '.join(settings)}."]
    if env:
        lines.append(
            f"- **Machine:** {env.get('cpu', '?')}, {env.get('cpu_count', '?')} CPUs; torch {env.get('torch', '?')}, "
            f"Python {env.get('python', '?')}, fer-core {env.get('fer_core', '?')}, git {env.get('git') or 'unknown'}."
        )
    commands = list(dict.fromkeys(inv.get("command", "") for inv in run.get("invocations", []) if inv.get("command")))
    if commands:
        lines.append("- **Command:** " + "; then ".join(f"`{c}`" for c in commands))
    return lines


def _leaderboard(results: Results) -> list[str]:
    board = results.leaderboard()
    if not board:
        return ["No cell finished."]
    has_test = results.ranking_split == "test"
    header = ["#", "model", "balancer", "seed", "val acc", "val macro-F1", "val weighted-F1"]
    header += ["test acc", "test macro-F1", "test weighted-F1"] if has_test else []
    header += ["params", "MFLOPs", "img/s (b64)", "p50 ms (b1)", "epochs", "best epoch", "train (s)", "stopped"]
    rows = []
    for rank, r in enumerate(board, 1):
        row = [rank, r["model"], r["balancer"], r["seed"], _fmt(r["val_accuracy"]), _fmt(r["val_macro_f1"]), _fmt(r["val_weighted_f1"])]
        if has_test:
            row += [_fmt(r["test_accuracy"]), _fmt(r["test_macro_f1"]), _fmt(r["test_weighted_f1"])]
        row += [
            _int(r["params"]),
            _fmt(r["mflops"], ".1f"),
            _fmt(r["images_per_s"], ".0f"),
            _fmt(r["latency_p50_ms"], ".1f"),
            _fmt(r["epochs_run"]),
            _fmt(r["best_epoch"]),
            _fmt(r["train_seconds"], ".1f"),
            r["stopped_reason"] or "-",
        ]
        rows.append(row)
    return _table(header, rows)


def _seed_summary(results: Results) -> list[str]:
    if not any(entry["seeds"] > 1 for entry in results.summary):
        return []
    split = results.ranking_split
    entries = sorted(results.summary, key=lambda e: -(e.get(f"{split}_macro_f1_mean") or -1))
    header = ["model", "balancer", "seeds", f"{split} acc", f"{split} macro-F1", f"{split} weighted-F1", "img/s"]
    rows = []
    for e in entries:
        pairs = [(e.get(f"{split}_{m}_mean"), e.get(f"{split}_{m}_sd")) for m in ("accuracy", "macro_f1", "weighted_f1")]
        rows.append(
            [e["model"], e["balancer"], e["seeds"], *[f"{_fmt(m)} ± {_fmt(s)}" for m, s in pairs], _fmt(e.get("images_per_s_mean"), ".0f")]
        )
    return ["", "## Mean ± sd over seeds", "", *_table(header, rows)]


def _per_class(results: Results) -> list[str]:
    board = results.leaderboard()
    if not board or not results.classes:
        return []
    header = ["model", "balancer", "seed", *results.classes]
    rows = [[r["model"], r["balancer"], r["seed"], *[_fmt(r.get(f"f1_{c}"), ".2f") for c in results.classes]] for r in board]
    split = "test" if results.ranking_split == "test" else "validation"
    return ["", f"## Per-class F1 ({split} split)", "", *_table(header, rows)]


def _failures(results: Results, pairs: Sequence[tuple[Job, CellResult | None]]) -> list[str]:
    bad = results.failed()
    if not bad:
        return []
    by_id = {job.cell_id: (job, result) for job, result in pairs}
    rows = []
    for r in bad:
        job, result = by_id[r["cell_id"]]
        step = result.failed_step if result is not None else ""
        trace = f"[{ERROR_FILE}]({job.cell_dir}/{ERROR_FILE})" if r["status"] != UNFINISHED else "-"
        rows.append([r["cell_id"], r["status"], step or "-", r["error"] or "-", trace])
    return ["", "## Failed or unfinished cells", "", *_table(["cell", "status", "while", "error", "traceback"], rows)]


def _plots(figures: dict[str, Any]) -> list[str]:
    lines = ["", "## Plots", ""]
    titles = {
        "balancer_comparison": "Macro-F1 and accuracy per model, one bar per balancer",
        "per_class_f1": "Per-class F1 across cells",
        "accuracy_vs_speed": "Accuracy vs inference speed",
    }
    for key, title in titles.items():
        if key in figures:
            lines += [f"### {title}", "", f"![{title}]({figures[key]})", ""]
    confusion = figures.get("confusion", {})
    if confusion:
        lines += ["### Confusion matrices", ""] + [f"- [{cell}]({path})" for cell, path in confusion.items()]
    return lines


def render_report(results: Results, pairs: Sequence[tuple[Job, CellResult | None]], run: dict[str, Any], figures: dict[str, Any]) -> str:
    counts = {status: sum(r["status"] == status for r in results.rows) for status in ("ok", "failed", UNFINISHED)}
    name = run.get("name") or run.get("spec", {}).get("name", "bench")
    lines = [f"# fer bench: {name}", ""]
    if results.dataset.get("synthetic"):
        lines += [SYNTHETIC_WARNING, ""]
    lines += _data_section(results, run)
    lines += _settings_section(run)
    lines.append(
        f"- **Cells:** {len(results.rows)} planned, {counts['ok']} finished, {counts['failed']} failed, {counts[UNFINISHED]} unfinished."
    )
    lines += [
        "- Speed: images/s from the fastest of several timings of a batch of 64, latency the median of single images (p50), "
        "on this machine's CPU with the cell's training threads (`threads` in results.csv); indicative only on a shared machine.",
        "- MFLOPs: millions of multiply-adds per image at the cell's input size, counted as torchvision and timm do "
        "(ResNet18 at 224x224 = 1,800).",
        "",
        "## Leaderboard",
        "",
        *_leaderboard(results),
        *_seed_summary(results),
        *_per_class(results),
        *_failures(results, pairs),
        *_plots(figures),
        "",
        "Files: `results.csv` and `results.json` (one row per cell), `run.json` (spec, jobs, environment), "
        "`cells/<cell>/` (checkpoint `best.safetensors` + `best.json`, `result.json`, training history and plots).",
    ]
    return "\n".join(lines) + "\n"
