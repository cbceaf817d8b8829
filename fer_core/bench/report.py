"""report.md: the leaderboard and everything needed to read it honestly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fer_core.bench import schema
from fer_core.bench.cell import ERROR_FILE, CellResult
from fer_core.bench.jobs import Job
from fer_core.bench.results import CORRUPT, UNFINISHED, Results
from fer_core.bench.stats import BASELINE, comparison_for, noise_mark

SYNTHETIC_WARNING = (
    "> **SYNTHETIC DATA.** Every number below was measured on generated images, not on real faces. "
    "It shows that the pipeline runs end to end; it says nothing about how well any model recognises facial expressions."
)


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


def _data_section(results: Results, run: dict[str, Any], pairs: Sequence[tuple[Job, CellResult | None]] = ()) -> list[str]:
    data = results.dataset
    spec = run.get("spec", {})
    lines = []
    if data:
        splits = ", ".join(f"{name} {count:,}" for name, count in data.get("splits", {}).items())
        lines += [
            f"- **Data:** `{spec.get('data', '?')}` = {data.get('name', '?')}, protocol `{data.get('protocol', '?')}`"
            f"{' (**synthetic**)' if data.get('synthetic') else ''}; images per split: {splits}{_fold_note(data, spec)}.",
            f"- **Classes ({len(results.classes)}):** {', '.join(results.classes)}.",
        ]
    else:
        lines.append(f"- **Data:** `{spec.get('data', '?')}` (no cell loaded it successfully).")
    if spec.get("test_data"):
        lines.append(_test_data_line([r for _, r in pairs if r is not None], spec["test_data"]))
    split_name = "test" if results.ranking_split == "test" else "validation"
    lines.append(f"- **Ranked by** macro-F1 on the {split_name} split; the validation split selected each cell's best epoch.")
    return lines


def _fold_note(data: dict[str, Any], spec: dict[str, Any]) -> str:
    """With folds, the split sizes are one fold's: say how the images are divided."""
    folds = spec.get("folds")
    if not folds:
        return ""
    total = sum(data.get("splits", {}).values())
    return (
        f" (one fold's: all {total:,} images are pooled into {folds} stratified folds, subject-grouped where subjects "
        "are known; each cell tests on its held-out fold, and its val split is carved from the other folds)"
    )


def _test_data_line(finished: Sequence[CellResult], test_data: str) -> str:
    """Where the test metrics came from with --test-data, and what shared-class scoring left out."""
    line = f"- **Test data:** `{test_data}`: every cell's test metrics are measured on all of its images, not on a split of `--data`"
    shared = [r.metrics.get("test", {}) for r in finished if r.ok and r.test_data]
    if not shared:
        return line + "."
    first = shared[0]
    dropped = ", ".join(f"{name} ({count:,} images)" for name, count in (first.get("classes_dropped") or {}).items())
    unscored = ", ".join(first.get("model_classes_unscored") or [])
    line += f"; {first.get('n', '?'):,} images scored" if isinstance(first.get("n"), int) else ""
    if "scored_classes" in first:
        line += f", on the classes both datasets share ({', '.join(first['scored_classes'])})"
        line += f"; dropped: {dropped or 'none'}; predicted classes left out of the argmax: {unscored or 'none'}"
    return line + "."


def _settings_section(run: dict[str, Any]) -> list[str]:
    spec = run.get("spec", {})
    budget = spec.get("time_budget_s")
    overrides = dict(spec.get("overrides", {}))
    epochs = spec.get("epochs") if spec.get("epochs") is not None else overrides.pop("epochs", "trainer default")
    budget = budget or overrides.pop("time_budget_s", None)
    settings = [
        f"epochs {epochs}",
        f"time budget per cell {f'{budget:g} s' if budget else 'none'}",
        f"augmentation {spec.get('augment') or overrides.pop('augment', 'trainer default')}",
        f"seeds {', '.join(str(s) for s in spec.get('seeds', []))}",
        *([f"folds {spec['folds']}"] if spec.get("folds") else []),
    ]
    settings += [f"{key} {value}" for key, value in sorted(overrides.items())]
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


def _board_metrics(results: Results) -> list[tuple[schema.Metric, str | None]]:
    """(metric, split) of each leaderboard column: per-split metrics on val, and on test when it was evaluated."""
    splits = ["val", "test"] if results.ranking_split == "test" else ["val"]
    chosen = schema.leaderboard_metrics()
    return [(m, s) for s in splits for m in chosen if m.per_split] + [(m, None) for m in chosen if not m.per_split]


def _ranked_table(
    results: Results,
    entries: list[dict[str, Any]],
    lead: list[str],
    lead_values: Callable[[dict[str, Any]], list[Any]],
    value: Callable[[dict[str, Any], schema.Metric, str], str],
) -> list[str]:
    """A ranked table: #, the lead columns, the leaderboard metrics, and each balancer's difference from ``none``."""
    columns = _board_metrics(results)
    score = results.score_column
    header = ["#", *lead, *[m.heading(s) for m, s in columns], f"Δ {schema.metric(score).header} vs none"]
    rows = []
    for rank, entry in enumerate(entries, 1):
        versus = comparison_for(results.comparisons, entry["model"], entry["balancer"], score)
        row = [rank, *lead_values(entry), *[value(entry, m, m.column(s)) for m, s in columns]]
        rows.append([*row, noise_mark(versus) if entry["balancer"] != BASELINE else "baseline"])
    return _table(header, rows)


def _leaderboard(results: Results) -> list[str]:
    board = results.leaderboard()
    if not board:
        return ["No cell finished."]
    folds = ["fold"] if results.folded else []

    def lead(r: dict[str, Any]) -> list[Any]:
        return [r["model"], r["balancer"], r["seed"], *([r.get("fold")] if folds else [])]

    return _ranked_table(results, board, ["model", "balancer", "seed", *folds], lead, lambda r, m, column: m.format(r.get(column)))


def _mean_sd(entry: dict[str, Any], m: schema.Metric, column: str) -> str:
    text = m.format(entry.get(column))
    sd = entry.get(f"{column}_sd")
    return text + (f" ± {m.format(sd)}" if sd is not None and not m.speed else "")


def _group_leaderboard(results: Results) -> list[str]:
    """With folds: one row per (model, balancer), mean ± sd over its n cells (folds x seeds), best mean macro-F1 first."""
    groups = results.groups()
    if not groups:
        return ["No cell finished."]
    table = _ranked_table(results, groups, ["model", "balancer", "n"], lambda g: [g["model"], g["balancer"], g["n"]], _mean_sd)
    return [
        f"Mean ± sd over each group's n cells ({groups[0]['folds']} folds x seeds); every fold is tested on "
        "its own held-out images, so groups are ranked, not cells. One row per cell: `## Cells` below.",
        "",
        *table,
    ]


def _cells(results: Results) -> list[str]:
    if not results.folded or not results.leaderboard():
        return []
    return ["", "## Cells (one per fold and seed)", "", *_leaderboard(results)]


def _interval(entry: dict[str, Any], column: str) -> str:
    m = schema.metric(column)
    mean, sd = entry.get(f"{column}_mean"), entry.get(f"{column}_sd")
    lo, hi = entry.get(f"{column}_ci95_lo"), entry.get(f"{column}_ci95_hi")
    text = m.format(mean)
    if sd is not None:
        text += f" ± {m.format(sd)}"
    if lo is not None and hi is not None:
        text += f" [{m.format(lo)}, {m.format(hi)}]"
    return text


def _seed_summary(results: Results) -> list[str]:
    if not any(entry["n"] > 1 for entry in results.summary):
        return []
    split = results.ranking_split
    columns = schema.summary_columns(split)
    score = f"{results.score_column}_mean"
    entries = sorted(results.summary, key=lambda e: -(e.get(score) if e.get(score) is not None else -1))
    header = ["model", "balancer", "n", *[schema.metric(c).heading(split) for c in columns]]
    rows = [[e["model"], e["balancer"], e["n"], *[_interval(e, c) for c in columns]] for e in entries]
    return [
        "",
        "## Mean ± sd [95% interval] over seeds and folds",
        "",
        "The interval is the t-interval of the mean over the group's finished cells (n); with few seeds it is wide, "
        "and two groups whose intervals overlap are not shown to differ.",
        "",
        *_table(header, rows),
    ]


def _comparisons(results: Results) -> list[str]:
    if not results.comparisons:
        return []
    header = ["model", "balancer", "vs", "metric", "Δ", "95% interval", "p", "n", "method", "verdict"]
    rows = []
    for c in results.comparisons:
        m = schema.metric(c["metric"])
        ci = c["ci95"]
        interval = f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "-"
        p = f"{c['p_value']:.3g}" if c["p_value"] is not None else "-"
        verdict = "no interval (one pair)" if c["within_noise"] is None else "within noise" if c["within_noise"] else "differs"
        rows.append([c["model"], c["balancer"], c["baseline"], m.heading(c["metric"].split("_", 1)[0]), f"{c['delta']:+.4f}"])
        rows[-1] += [interval, p, c["n"], c["method"], verdict]
    return [
        "",
        "## Balancers against the baseline `none` (paired)",
        "",
        "Each balancer's cells are paired with the `none` cell of the same model, seed and fold; Δ is balancer minus none. "
        "`~` in the leaderboard marks a difference whose 95% interval contains 0 (within noise), `?` one without an interval.",
        "",
        *_table(header, rows),
    ]


def _per_class(results: Results) -> list[str]:
    board = results.leaderboard()
    if not board or not results.classes:
        return []
    f1 = schema.metric("macro_f1")
    split = "test" if results.ranking_split == "test" else "validation"
    if results.folded:
        header = ["model", "balancer", "n", *results.classes]
        groups = results.groups()
        rows = [[g["model"], g["balancer"], g["n"], *[f1.format(g.get(f"f1_{c}")) for c in results.classes]] for g in groups]
        return ["", f"## Per-class F1 ({split} split, mean over folds and seeds)", "", *_table(header, rows)]
    header = ["model", "balancer", "seed", *results.classes]
    rows = [[r["model"], r["balancer"], r["seed"], *[f1.format(r.get(f"f1_{c}")) for c in results.classes]] for r in board]
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
        trace = f"[{ERROR_FILE}]({job.cell_dir}/{ERROR_FILE})" if r["status"] not in (UNFINISHED, CORRUPT) else "-"
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


def _speed_line(results: Results) -> str:
    phase = results.speed
    if not phase.get("models"):
        return (
            "- Speed: measured by each cell right after training (no speed phase in this run): images/s of a batch of 64, "
            "latency the median of single images (p50), on this machine's CPU; indicative only on a shared machine."
        )
    load = phase.get("load_average_before") or ["?"]
    rounds = sorted({figure.get("rounds") for figure in phase["models"].values()})
    untimed = f"; {len(phase['errors'])} architecture(s) could not be timed" if phase.get("errors") else ""
    return (
        f"- Speed: one speed phase after training ({phase.get('started_at', '?')}): every architecture timed on the CPU with "
        f"{phase.get('threads', '?')} thread(s) in {', '.join(map(str, rounds))} interleaved rounds after a warm-up; "
        f"img/s is the median over rounds of a batch of {phase.get('batch', 64)}, p50 the median single-image latency, and "
        "`images_per_s_lo`/`_hi` in results.csv the slowest and fastest round (the spread; speeds whose spreads overlap do not "
        f"differ). Every cell of an architecture shows its one figure. Load average before: {load[0]} on "
        f"{phase.get('cpu_count', '?')} CPUs{untimed}."
    )


def render_report(results: Results, pairs: Sequence[tuple[Job, CellResult | None]], run: dict[str, Any], figures: dict[str, Any]) -> str:
    counts = {status: sum(r["status"] == status for r in results.rows) for status in ("ok", "failed", UNFINISHED, CORRUPT)}
    name = run.get("name") or run.get("spec", {}).get("name", "bench")
    lines = [f"# fer bench: {name}", ""]
    if results.dataset.get("synthetic"):
        lines += [SYNTHETIC_WARNING, ""]
    lines += _data_section(results, run, pairs)
    lines += _settings_section(run)
    lines.append(
        f"- **Cells:** {len(results.rows)} planned, {counts['ok']} finished, {counts['failed']} failed, {counts[UNFINISHED]} unfinished"
        + (f", {counts[CORRUPT]} with a damaged result.json." if counts[CORRUPT] else ".")
    )
    lines += [
        _speed_line(results),
        "- MFLOPs: millions of multiply-adds per image at the cell's input size, counted as torchvision and timm do "
        "(ResNet18 at 224x224 = 1,800).",
        "",
        "## Leaderboard",
        "",
        *(_group_leaderboard(results) if results.folded else _leaderboard(results)),
        *_seed_summary(results),
        *_comparisons(results),
        *_per_class(results),
        *_cells(results),
        *_failures(results, pairs),
        *_plots(figures),
        "",
        "Files: `results.csv` and `results.json` (one row per cell), `run.json` (spec, jobs, environment), "
        "`cells/<cell>/` (checkpoint `best.safetensors` + `best.json`, `result.json`, training history and plots).",
    ]
    return "\n".join(lines) + "\n"
