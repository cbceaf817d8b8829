"""`fer data info`: output, JSON, and every bad-input case as a one-line error with its exit code."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_support import run_fer
from tests.data_support import make_ck_folder, make_label_folder, random_image, write_image

FER = Path(sys.executable).parent / "fer"
PIXELS = " ".join(["7"] * 2304)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["emotion,pixels,Usage", *rows]) + "\n")
    return path


def _assert_one_line_error(code: int, err: str, expected_code: int, *fragments: str) -> None:
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_info_on_demo_says_it_is_synthetic(monkeypatch, capsys):
    code, out, _ = run_fer(monkeypatch, capsys, "data", "info", "demo", "--no-duplicates")
    assert code == 0
    assert "SYNTHETIC" in out
    assert "demo:synthetic:7cls" in out
    assert "2,100" in out


def test_info_json_reports_format_counts_size_and_duplicates(tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "faces", {"happy": 6, "neutral": 6})
    twin = random_image(np.random.default_rng(5))
    write_image(root / "happy" / "twin_a.png", twin)
    write_image(root / "neutral" / "twin_b.png", twin)
    code, out, _ = run_fer(monkeypatch, capsys, "data", "info", str(root), "--json", "--val-fraction", "0.25")
    assert code == 0
    info = json.loads(out)
    assert info["format"] == "image folders (<label>/<image>)"
    assert info["classes"] == ["happy", "neutral"]
    assert info["image_size"] == [48, 48] and info["channels"] == 1
    assert info["synthetic"] is False
    assert info["counts"]["train"]["total"] + info["counts"]["val"]["total"] == 14
    assert info["duplicates"]["duplicate_groups"] == 1
    assert info["duplicates"]["groups_with_conflicting_labels"] == 1
    assert info["val_carved"]["fraction"] == 0.25


def test_info_human_output_for_ckplus_mentions_subjects(tmp_path, monkeypatch, capsys):
    root = make_ck_folder(tmp_path / "ck")
    code, out, _ = run_fer(monkeypatch, capsys, "data", "info", str(root), "--contempt", "drop")
    assert code == 0
    assert "CK+48 folders" in out
    assert "subjects: 12" in out
    assert "contempt" not in out.split("classes")[1]


BAD_FOLDERS = {
    "empty class folder": (lambda root: (root / "disgust").mkdir(), ["empty class folder:", "disgust has no images"]),
    "zero-byte image": (lambda root: (root / "happy" / "zero.png").write_bytes(b""), ["zero.png: empty file (0 bytes)"]),
    "unreadable image": (lambda root: (root / "sad" / "junk.jpg").write_bytes(b"\x00garbage"), ["junk.jpg: cannot decode image"]),
    "non-image file": (lambda root: (root / "sad" / "notes.txt").write_text("x"), ["notes.txt: not an image file"]),
    "unknown label": (lambda root: make_label_folder(root, {"pain": 2}), ["unknown label 'pain'", "--map"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folders_give_one_line_errors(case, tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    spoil, fragments = BAD_FOLDERS[case]
    spoil(root)
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(root))
    _assert_one_line_error(code, err, 1, *fragments)


BAD_CSV_ROWS = {
    "wrong pixel count": ("3," + " ".join(["7"] * 2303) + ",Training", "row 1 (line 3): expected 2304 pixel values, got 2303"),
    "non-integer": ("3," + PIXELS.replace("7", "x", 1) + ",Training", "row 1 (line 3): pixel value 'x' is not an integer"),
    "unknown Usage": ("3," + PIXELS + ",Validation", "row 1 (line 3): unknown Usage 'Validation'"),
    "bad emotion id": ("7," + PIXELS + ",Training", "row 1 (line 3): emotion '7' is not an emotion id 0-6"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV_ROWS))
def test_bad_csv_rows_give_one_line_errors_naming_file_and_row(case, tmp_path, monkeypatch, capsys):
    row, fragment = BAD_CSV_ROWS[case]
    path = _csv(tmp_path / "fer2013.csv", ["0," + PIXELS + ",Training", row])
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(path))
    _assert_one_line_error(code, err, 1, str(path), fragment)


def test_missing_path_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", str(tmp_path / "missing"))
    _assert_one_line_error(code, err, 1, f"no such file or directory: {tmp_path / 'missing'}")


def test_bad_option_values_are_usage_errors(monkeypatch, capsys):
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", "demo", "--contempt", "sometimes")
    _assert_one_line_error(code, err, 2, "option 'contempt' expects one of keep, drop, got 'sometimes'")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", "demo", "--on-bad", "ignore")
    _assert_one_line_error(code, err, 2, "option 'on_bad' expects one of error, skip, got 'ignore'")


def test_info_takes_the_data_options_of_fer_train(tmp_path, monkeypatch, capsys):
    """The README's `fer data info ... --data-opt contempt=drop`; the source's own options too (demo's train)."""
    root = make_label_folder(tmp_path / "data", {"happy": 4, "contempt": 4, "sad": 4})
    code, out, _ = run_fer(monkeypatch, capsys, "data", "info", str(root), "--json", "--val-fraction", "0.25")
    assert code == 0 and "contempt" in json.loads(out)["classes"]
    code, out, _ = run_fer(
        monkeypatch, capsys, "data", "info", str(root), "--json", "--data-opt", "contempt=drop", "--data-opt", "val_fraction=0.25"
    )
    assert code == 0 and "contempt" not in json.loads(out)["classes"]
    code, out, _ = run_fer(monkeypatch, capsys, "data", "info", "demo", "--json", "--no-duplicates", "--data-opt", "train=70")
    assert code == 0 and json.loads(out)["counts"]["train"]["total"] == 70


def test_info_data_option_mistakes_are_one_line(monkeypatch, capsys):
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", "demo", "--data-opt", "bogus=1")
    _assert_one_line_error(code, err, 2, "--data-opt for demo: unknown option 'bogus'")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", "demo", "--data-opt", "train=abc")
    _assert_one_line_error(code, err, 2, "option 'train' expects an integer, got 'abc'")
    code, _, err = run_fer(monkeypatch, capsys, "data", "info", "demo", "--data-opt", "novalue")
    _assert_one_line_error(code, err, 2, "--data-opt expects KEY=VALUE, got 'novalue'")


def test_on_bad_skip_warns_with_a_count_and_succeeds(tmp_path, monkeypatch, capsys):
    root = make_label_folder(tmp_path / "data", {"happy": 3, "sad": 3})
    (root / "happy" / "zero.png").write_bytes(b"")
    (root / "sad" / "junk.jpg").write_bytes(b"junk")
    code, out, err = run_fer(monkeypatch, capsys, "data", "info", str(root), "--on-bad", "skip", "--json")
    assert code == 0
    assert "warning: skipped 2 bad file(s)" in err
    assert "zero.png" in err and "junk.jpg" in err
    assert json.loads(out)["skipped_files"] == 2


def test_the_installed_command_exits_with_the_error_code(tmp_path):
    """The real entry point: a user mistake is one stderr line and exit 1, never a traceback."""
    env = {**os.environ, "FER_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([str(FER), "data", "info", str(tmp_path / "nope")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: no such file or directory: {tmp_path / 'nope'}"
