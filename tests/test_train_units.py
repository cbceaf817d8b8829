"""Small pieces of the trainer: the config, the augmenter presets, the pickle-free state format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_core.errors import UsageError
from fer_core.registry import get_registry
from fer_core.training.augment import AlbumentationsAugmenter
from fer_core.training.config import TrainConfig
from fer_core.training.state import load_state, save_state


def test_config_round_trips_and_hashes_the_recipe_only():
    config = TrainConfig(model="mycnn_v1", balancer="smote", balancer_options={"k_neighbors": 3}, epochs=5)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.config_hash() == TrainConfig.from_dict(config.to_dict()).config_hash()
    assert len(config.config_hash()) == 12
    assert TrainConfig(model="mycnn_v1", threads=1).config_hash() == TrainConfig(model="mycnn_v1", threads=2).config_hash()
    assert TrainConfig(model="mycnn_v1", lr=0.01).config_hash() != TrainConfig(model="mycnn_v1").config_hash()


def test_config_defaults_are_the_documented_recipe():
    c = TrainConfig(model="m")
    assert (c.optimizer, c.lr, c.weight_decay, c.batch_size, c.epochs, c.schedule, c.patience) == ("adamw", 1e-3, 1e-4, 32, 10, "cosine", 3)
    assert (c.balancer, c.augment, c.channels, c.channels_last, c.precision) == ("none", "standard", 1, True, "fp32")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"optimizer": "adam"}, "optimizer must be one of adamw, sgd"),
        ({"label_smoothing": 1.0}, "label smoothing must be < 1"),
        ({"precision": "fp16"}, "precision must be one of"),
        ({"time_budget_s": 0}, "time budget must be > 0"),
    ],
)
def test_config_rejects_bad_values(options, message):
    with pytest.raises(UsageError, match=message):
        TrainConfig(model="m", **options)


def test_config_from_dict_names_unknown_keys():
    with pytest.raises(UsageError, match="unknown training config keys: learning_rate"):
        TrainConfig.from_dict({"model": "m", "learning_rate": 1})


@pytest.mark.parametrize("preset", ["light", "standard", "strong"])
def test_augmenter_presets_keep_shape_dtype_and_follow_the_rng(preset):
    images = np.random.default_rng(0).integers(0, 256, (16, 48, 48), dtype=np.uint8)
    augment = get_registry().create("augmenters", "albumentations", preset=preset)
    first = augment(images, np.random.default_rng(5))
    assert first.shape == images.shape and first.dtype == np.uint8
    assert np.array_equal(first, augment(images, np.random.default_rng(5)))
    assert not np.array_equal(first, augment(images, np.random.default_rng(6)))
    assert not np.array_equal(first, images)


def test_augmenter_none_is_identity_and_unknown_preset_is_refused():
    images = np.zeros((3, 8, 8), dtype=np.uint8)
    assert AlbumentationsAugmenter("none")(images, np.random.default_rng(0)) is images
    with pytest.raises(UsageError, match="unknown augmentation preset 'wild'"):
        AlbumentationsAugmenter("wild")


def test_strong_preset_erases_patches():
    images = np.full((64, 48, 48), 128, dtype=np.uint8)
    out = AlbumentationsAugmenter("strong")(images, np.random.default_rng(0))
    assert (out == 0).any(axis=(1, 2)).mean() > 0.2, "random erasing fills holes with 0 in about half the images"


def test_state_round_trips_optimizer_and_scheduler_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max")
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rows": [{"a": 1.5}]}
    save_state(tmp_path, state)
    assert b"pickle" not in (tmp_path / "state.safetensors").read_bytes()[:8]
    loaded = load_state(tmp_path)
    assert loaded["rows"] == [{"a": 1.5}] and loaded["scheduler"] == scheduler.state_dict()
    assert set(loaded["optimizer"]["state"]) == {0, 1}
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    fresh = torch.optim.AdamW(model.parameters())
    fresh.load_state_dict(loaded["optimizer"])
    assert fresh.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]
    assert load_state(tmp_path / "nothing-here") is None
