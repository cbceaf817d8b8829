"""Bad model choices on the command line end in one `error:` line and exit code 2, never a traceback."""

from __future__ import annotations

import sys

import pytest

from fer_core.cli.app import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "resnet18", "--model-opt", "stem=tiny"],
            "error: model 'resnet18': option 'stem' expects one of imagenet, cifar, got 'tiny'",
        ),
        (
            ["--model", "densenet121", "--model-opt", "train_scope=head"],
            "error: model 'densenet121': option 'train_scope' expects one of all, last_block",
        ),
        (["--model", "timm/efficentnet_b0"], "error: timm has no architecture 'efficentnet_b0'; close matches: efficientnet_b0"),
    ],
)
def test_bad_model_choice_is_a_one_line_usage_error(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["fer", "train", *args, "--data", "demo", "--epochs", "1"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2, stderr
    assert message in " ".join(stderr.split())
    assert "Traceback" not in stderr
