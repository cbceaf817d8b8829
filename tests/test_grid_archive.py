"""benchmarks/grid_archive.py: a long grid's finished cells survive a fresh machine without their weights."""

import importlib.util
import json
from pathlib import Path

from fer_core.bench.runner import rebuild_report
from tests.bench_support import hand_made_pair, write_run_folder

_SPEC = importlib.util.spec_from_file_location("grid_archive", Path(__file__).parents[1] / "benchmarks" / "grid_archive.py")
grid_archive = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(grid_archive)


def _pairs(finished_folds):
    split = {"accuracy": 0.6, "macro_f1": 0.5, "weighted_f1": 0.5}
    pairs = []
    for balancer in ("none", "smote"):
        for fold in (1, 2, 3):
            job, result = hand_made_pair("m", balancer, 0, {"val": split, "test": split}, fold=fold)
            pairs.append((job, result if fold in finished_folds else None))
    return pairs


def test_saved_cells_restore_into_a_fresh_run_that_reports_them(tmp_path):
    run, archive, fresh = tmp_path / "run", tmp_path / "archive", tmp_path / "fresh"
    write_run_folder(run, _pairs({1, 2}))
    (run / "cells" / "m__none__s0__f1" / "best.safetensors").write_bytes(b"weights")

    assert grid_archive.save(run, archive) == f"{archive}: 4 finished cells of {run} (results and histories, no weights)"
    assert not list(archive.rglob("*.safetensors"))
    assert grid_archive.into_run(archive, fresh, create=True) == f"{fresh}: 4 cells copied from {archive}"
    assert sorted(grid_archive.finished(fresh)) == sorted(grid_archive.finished(run))

    results = rebuild_report(fresh).results
    assert sum(row["status"] == "ok" for row in results.rows) == 4


def test_merge_adds_only_missing_cells_planned_with_the_same_settings(tmp_path):
    main, other = tmp_path / "main", tmp_path / "other"
    write_run_folder(main, _pairs({1}))
    write_run_folder(other, _pairs({1, 2, 3}))
    mine = main / "cells" / "m__none__s0__f1" / "result.json"
    before = mine.read_bytes()
    run = json.loads((main / "run.json").read_text())
    changed = next(job for job in run["jobs"] if job["cell_id"] == "m__smote__s0__f3")
    changed["config_hash"] = "different"
    (main / "run.json").write_text(json.dumps(run))

    message = grid_archive.into_run(other, main, create=False)

    assert message == f"{main}: 3 cells copied from {other}; 1 skipped: {main} plans them differently or not at all"
    assert mine.read_bytes() == before
    assert sorted(grid_archive.finished(main)) == [
        "m__none__s0__f1",
        "m__none__s0__f2",
        "m__none__s0__f3",
        "m__smote__s0__f1",
        "m__smote__s0__f2",
    ]


def test_a_damaged_source_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "run.json").write_text("{")
    assert grid_archive.main(["merge", str(tmp_path / "src"), str(tmp_path / "dst")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "damaged" in err and err.count("\n") == 1


def _planned(run_dir):
    return [job["cell_id"] for job in json.loads((run_dir / "run.json").read_text())["jobs"]]


def test_merge_adopts_the_jobs_only_the_source_plans(tmp_path):
    main, other = tmp_path / "main", tmp_path / "other"
    write_run_folder(main, _pairs({1}))
    split = {"accuracy": 0.7, "macro_f1": 0.6, "weighted_f1": 0.6}
    write_run_folder(other, [hand_made_pair("n", "none", 0, {"val": split, "test": split}, fold=1)])

    message = grid_archive.into_run(other, main, create=False)

    assert message == f"{main}: 1 cells copied from {other}; 1 jobs added to its plan"
    assert _planned(main)[-1] == "n__none__s0__f1" and len(_planned(main)) == 7
    assert "n__none__s0__f1" in grid_archive.finished(main)
    assert sum(row["status"] == "ok" for row in rebuild_report(main).results.rows) == 3


def test_drop_takes_a_model_out_of_the_plan_but_never_a_finished_cell(tmp_path, capsys):
    run = tmp_path / "run"
    write_run_folder(run, _pairs(set()))
    assert grid_archive.drop(run, "m") == f"{run}: 6 jobs of m dropped from the plan, 0 left"
    assert _planned(run) == []

    write_run_folder(tmp_path / "kept", _pairs({2}))
    assert grid_archive.main(["drop", str(tmp_path / "kept"), "m"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "2 finished cell(s) of 'm'" in err and err.count("\n") == 1
    assert len(_planned(tmp_path / "kept")) == 6
    assert grid_archive.main(["drop", str(tmp_path / "kept"), "nosuch"]) == 1
    assert "plans no cell of model 'nosuch'" in capsys.readouterr().err
