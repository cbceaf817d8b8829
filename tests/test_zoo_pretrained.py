"""ImageNet weights from disk only: grayscale conversion, the torch hub cache, and clear messages otherwise."""

from __future__ import annotations

import logging
import re

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from fer_core import pretrained
from fer_core.errors import UsageError
from fer_core.registry import get_registry


@pytest.fixture(autouse=True)
def _fresh_messages(monkeypatch, tmp_path):
    """Each test starts with no message said yet and an empty torch hub cache of its own."""
    monkeypatch.setattr(pretrained, "_said", set())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def build(name: str, in_channels: int = 1, **options):
    return get_registry().create("models", name, **options).build(7, in_channels, 48)


def imagenet_resnet18() -> dict[str, torch.Tensor]:
    torch.manual_seed(42)
    return {k: v.contiguous() for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}


def save_safetensors(state: dict[str, torch.Tensor], path) -> str:
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return str(path)


def test_adapt_first_conv_sums_rgb_for_gray_and_keeps_the_total_response_for_other_widths():
    weight = torch.randn(8, 3, 7, 7)
    assert torch.equal(pretrained.adapt_first_conv(weight, 3), weight)
    assert torch.allclose(pretrained.adapt_first_conv(weight, 1), weight.sum(1, keepdim=True))
    four = pretrained.adapt_first_conv(weight, 4)
    assert four.shape == (8, 4, 7, 7) and torch.allclose(four.sum(1), weight.sum(1), atol=1e-5)


def test_resnet18_loads_a_safetensors_state_dict_with_a_grayscale_first_conv(tmp_path):
    state = imagenet_resnet18()
    path = save_safetensors(state, tmp_path / "resnet18.safetensors")
    gray = build("resnet18", pretrained=path)
    assert torch.allclose(gray.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(gray.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
    assert gray.fc.weight.shape == (7, 512), "the 1000-class ImageNet head does not fit and stays random"
    color = build("resnet18", in_channels=3, pretrained=path)
    assert torch.equal(color.conv1.weight, state["conv1.weight"])


def test_cifar_stem_keeps_its_own_conv1_and_loads_the_rest(tmp_path, caplog):
    state = imagenet_resnet18()
    path = save_safetensors(state, tmp_path / "resnet18.safetensors")
    with caplog.at_level(logging.INFO, logger="fer.pretrained"):
        model = build("resnet18", stem="cifar", pretrained=path)
    assert model.conv1.weight.shape == (64, 1, 3, 3)
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    assert re.search(r"random init kept for .*conv1\.weight", caplog.text)


def test_imagenet_missing_from_the_hub_cache_is_a_one_line_error_not_a_silent_random_start():
    with pytest.raises(UsageError) as raised:
        build("resnet18", pretrained="imagenet")
    message = str(raised.value)
    assert "resnet18-f37072fd.pth" in message and "never downloads" in message and "\n" not in message


def test_imagenet_is_read_from_the_torch_hub_cache_with_weights_only(tmp_path):
    state = imagenet_resnet18()
    cached = pretrained.hub_cache_file(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url)
    assert cached.is_relative_to(tmp_path)
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    model = build("resnet18", pretrained="imagenet")
    assert torch.allclose(model.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))


def test_no_pretrained_option_says_once_that_it_starts_from_scratch(caplog):
    with caplog.at_level(logging.WARNING, logger="fer.pretrained"):
        build("vgg16")
        build("vgg16")
        with torch.device("meta"):
            get_registry().create("models", "resnet18").build(7, 1, 48)  # counting parameters says nothing
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["vgg16: starting from scratch (random init); pretrained=imagenet or PATH loads weights"]


def test_a_pickle_outside_the_hub_cache_is_refused(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(imagenet_resnet18(), path)
    with pytest.raises(UsageError, match=r"must be a \.safetensors state dict"):
        build("resnet18", pretrained=str(path))


def test_missing_and_mismatched_files_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="pretrained weights file not found"):
        build("resnet18", pretrained=str(tmp_path / "nope.safetensors"))
    other = save_safetensors({"something.else": torch.zeros(3)}, tmp_path / "other.safetensors")
    with pytest.raises(UsageError, match=r"no tensor in .* fits this model"):
        build("resnet18", pretrained=other)


def test_densenet_reads_torchvisions_old_key_names(tmp_path):
    torch.manual_seed(3)
    state = torchvision.models.densenet121(weights=None).state_dict()
    old_style = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()}
    assert "features.denseblock1.denselayer1.norm.1.weight" in old_style
    model = build("densenet121", pretrained=save_safetensors(old_style, tmp_path / "densenet121.safetensors"))
    assert torch.equal(model.features.denseblock3.denselayer5.conv2.weight, state["features.denseblock3.denselayer5.conv2.weight"])
    assert torch.allclose(model.features.conv0.weight, state["features.conv0.weight"].sum(1, keepdim=True))


def test_vgg16_loads_torchvision_feature_weights(tmp_path):
    with torch.device("meta"):
        shapes = torchvision.models.vgg16().features.state_dict()
    torch.manual_seed(5)
    state = {f"features.{k}": torch.randn(v.shape) for k, v in shapes.items()}
    model = build("vgg16", pretrained=save_safetensors(state, tmp_path / "vgg16.safetensors"))
    assert torch.equal(model.features[28].weight, state["features.28.weight"])
    assert torch.allclose(model.features[0].weight, state["features.0.weight"].sum(1, keepdim=True))
