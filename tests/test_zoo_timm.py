"""The timm bridge: any architecture as timm/<arch>, helpful errors, weights only from disk."""

from __future__ import annotations

import pytest
import timm
import torch
from safetensors.torch import save_file

from fer_core import pretrained
from fer_core.api import ModelPlugin
from fer_core.errors import UnknownPluginError, UsageError
from fer_core.registry import get_registry

fer_timm = pytest.importorskip("fer_timm", reason="the fer-timm plugin is not installed")
cached_weights, resolve = fer_timm.cached_weights, fer_timm.resolve


@pytest.fixture(autouse=True)
def _fresh_messages(monkeypatch):
    monkeypatch.setattr(pretrained, "_said", set())


def forward(model: torch.nn.Module, in_channels: int = 1, size: int = 48) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(torch.randn(1, in_channels, size, size))


def test_resolve_returns_a_cached_model_plugin_class_for_any_timm_architecture():
    cls = resolve("convnext_atto")
    assert issubclass(cls, ModelPlugin) and cls.arch == "convnext_atto" and cls.description
    assert resolve("convnext_atto") is cls
    model = cls().build(num_classes=5, in_channels=1, input_size=48)
    assert forward(model).shape == (1, 5)


def test_registry_resolves_names_under_the_namespace():
    cls = get_registry().get("models", "timm/lcnet_050")
    assert cls.arch == "lcnet_050"
    assert forward(get_registry().create("models", "timm/lcnet_050").build(8, 3, 48), in_channels=3).shape == (1, 8)


def test_fixed_size_architectures_are_built_for_the_requested_input_size():
    model = resolve("vit_tiny_patch16_224")().build(num_classes=7, in_channels=1, input_size=48)
    assert forward(model).shape == (1, 7)


def test_unknown_architecture_names_close_matches():
    with pytest.raises(KeyError, match=r"close matches: .*efficientnet_b0"):
        resolve("efficentnet_b0")
    with pytest.raises(UnknownPluginError, match="timm has no architecture 'efficentnet_b0'; close matches") as info:
        get_registry().get("models", "timm/efficentnet_b0")
    assert info.value.exit_code == 2


def test_bad_options_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="drop_rate must be in"):
        resolve("resnet10t")(drop_rate=2)
    with pytest.raises(UsageError, match="Timm_resnet10t: option 'drop_rate' expects a finite number, got 'lots'"):
        resolve("resnet10t")(drop_rate="lots")
    with pytest.raises(UsageError, match="pretrained weights file not found"):
        resolve("resnet10t")(pretrained=str(tmp_path / "missing.safetensors"))


def test_pretrained_path_loads_through_timm_with_a_grayscale_stem(tmp_path):
    torch.manual_seed(7)
    reference = timm.create_model("resnet10t", pretrained=False)
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    path = tmp_path / "resnet10t.safetensors"
    save_file(state, str(path))
    model = resolve("resnet10t")(pretrained=str(path)).build(num_classes=7, in_channels=1, input_size=48)
    assert torch.allclose(model.conv1[0].weight, state["conv1.0.weight"].sum(1, keepdim=True), atol=1e-6)
    assert torch.equal(model.layer4[0].conv2.weight, state["layer4.0.conv2.weight"])
    assert model.fc.weight.shape == (7, 512)


def _fake_hf_cache(root, repo_id: str, state: dict[str, torch.Tensor]):
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    save_file(state, str(snapshot / "model.safetensors"))
    return snapshot / "model.safetensors"


def test_pretrained_cache_uses_files_already_on_disk_and_otherwise_fails_in_one_line(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cfg = timm.models.get_pretrained_cfg("resnet10t")
    assert cached_weights(cfg) is None
    with pytest.raises(UsageError, match="timm/resnet10t: pretrained=cache but timm's weights are not in"):
        resolve("resnet10t")(pretrained="cache").build(7, 1, 48)

    torch.manual_seed(1)
    state = {k: v.contiguous() for k, v in timm.create_model("resnet10t").state_dict().items()}
    file = _fake_hf_cache(tmp_path / "hf", cfg.hf_hub_id, state)
    assert cached_weights(cfg) == file
    model = resolve("resnet10t")(pretrained="imagenet").build(7, 1, 48)
    assert torch.equal(model.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
