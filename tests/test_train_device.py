"""Training on a device: the batched tensor augmenter, --device, and (where torch sees a GPU) CUDA runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fer_core.errors import TrainingDivergedError, UsageError
from fer_core.training.config import TrainConfig
from fer_core.training.device import resolve_device
from fer_core.training.tensor_augment import TensorAugmenter, _affine, _erase
from fer_core.training.trainer import train
from tests.cli_support import run_fer
from tests.train_support import tiny_config, tiny_dataset, training_test_plugins, whole_and_resumed

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True, scope="module")
def _test_plugins():
    with training_test_plugins():
        yield


def faces(n: int = 16, size: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


@pytest.mark.parametrize("preset", ["light", "standard", "strong"])
def test_tensor_augmenter_keeps_shape_and_range_and_repeats_with_its_seed(preset):
    augment = TensorAugmenter(preset)
    images = faces()
    first = augment(images, np.random.default_rng(5))
    again = augment(images, np.random.default_rng(5))
    other = augment(images, np.random.default_rng(6))
    assert first.shape == images.shape and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    changed = [not np.array_equal(a, b) for a, b in zip(first, images, strict=True)]
    assert 0 < sum(changed) <= len(images)


def test_tensor_augmenter_handles_colour_and_none():
    colour = np.random.default_rng(0).integers(0, 256, (4, 24, 24, 3), dtype=np.uint8)
    assert TensorAugmenter("standard")(colour, np.random.default_rng(0)).shape == colour.shape
    images = faces()
    assert TensorAugmenter("none")(images, np.random.default_rng(0)) is images
    with pytest.raises(UsageError, match="unknown augmentation preset 'wild'"):
        TensorAugmenter("wild")


def test_an_affine_warp_of_zero_strength_is_the_identity():
    x = torch.from_numpy(faces()).float().unsqueeze(1)
    out = _affine(x, torch.Generator().manual_seed(0), rotate=0.0, shift=0.0, scale=0.0)
    assert torch.allclose(out, x, atol=1e-3)


def test_erasing_blacks_out_one_rectangle_of_a_tenth_to_three_tenths_of_each_side():
    x = torch.full((64, 1, 40, 40), 200.0)
    out = _erase(x, torch.Generator().manual_seed(0))
    holes = out[:, 0] == 0
    erased = holes.flatten(1).any(1)
    assert 10 < int(erased.sum()) < 54, "about half the images get a hole"
    for hole in holes[erased]:
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert int(hole.sum()) == len(rows) * len(cols), "the hole is one rectangle"
        assert 4 <= len(rows) <= 12 and 4 <= len(cols) <= 12


def test_torch_augmented_run_resumes_to_the_uninterrupted_result(tmp_path):
    whole, resumed, _ = whole_and_resumed(tiny_config(epochs=3, augment="torch:strong"), tmp_path)
    assert resumed.val_metrics == whole.val_metrics
    a, b = load_file(str(whole.checkpoint)), load_file(str(resumed.checkpoint))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert whole.meta["augment"] == "torch:strong" and whole.meta["device"] == "cpu"


def test_device_is_validated_and_left_out_of_the_recipe_hash():
    assert TrainConfig(model="m", device="cuda:1").device == "cuda:1"
    with pytest.raises(UsageError, match="device must be one of auto, cpu, cuda or cuda:N, got 'gpu'"):
        TrainConfig(model="m", device="gpu")
    assert TrainConfig(model="m", device="cpu").config_hash() == TrainConfig(model="m", device="auto").config_hash()
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_cuda_without_a_gpu_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    args = ("train", "--model", "mycnn_v1", "--data", "demo", "--device", "cuda", "--out", str(tmp_path / "r"))
    code, _, err = run_fer(monkeypatch, capsys, *args)
    assert code != 0
    assert "--device cuda: torch" in err and "sees no CUDA GPU" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "state.safetensors").exists()


@needs_cuda
@pytest.mark.parametrize("augment", ["torch:standard", "standard", "none"])
def test_cuda_run_trains_and_its_checkpoint_loads_on_the_cpu(tmp_path, augment):
    from fer_core.checkpoint import load_checkpoint
    from fer_core.training.evaluate import evaluate

    dataset = tiny_dataset()
    result = train(tiny_config(epochs=3, augment=augment, device="cuda", precision="bf16"), dataset, tmp_path / "run", quiet=True)
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["device"].startswith("cuda:0 (") and meta["config"]["device"] == "cuda"
    assert all(np.isfinite(row["train_loss"]) for row in result.history)
    assert result.val_metrics["accuracy"] > 1 / 3, "learns more than chance on the separable tiny set"
    model, loaded = load_checkpoint(result.checkpoint)
    assert next(model.parameters()).device.type == "cpu"
    on_cpu = evaluate(model, loaded, dataset.splits["val"])
    assert abs(on_cpu["accuracy"] - result.val_metrics["accuracy"]) <= 2 / len(dataset.splits["val"])


@needs_cuda
def test_nan_loss_on_the_gpu_names_the_batches_it_happened_in(tmp_path):
    config = tiny_config(model="train_nan_model", model_options={"healthy_batches": 7}, epochs=3, device="cuda", augment="torch:standard")
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at epoch 2, one of batches 1-6 .*state after epoch 1 is kept"):
        train(config, tiny_dataset(), tmp_path / "run", quiet=True)


def test_bf16_on_a_gpu_without_bfloat16_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    with pytest.raises(UsageError, match=r"--precision bf16: Tesla T4 has no bfloat16 support; use --precision fp32"):
        resolve_device("cuda", "bf16")
    assert resolve_device("auto", "fp32") == torch.device("cuda")
    with pytest.raises(UsageError, match="only 1 CUDA GPUs"):
        resolve_device("cuda:1")


def test_training_leaves_the_global_torch_settings_as_it_found_them(tmp_path):
    threads, benchmark = torch.get_num_threads(), torch.backends.cudnn.benchmark
    train(tiny_config(epochs=1, threads=2), tiny_dataset(), tmp_path / "run", quiet=True)
    assert (torch.get_num_threads(), torch.backends.cudnn.benchmark) == (threads, benchmark)
