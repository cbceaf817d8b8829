"""Architecture-specific promises of the zoo's model plugins (the shared contract is in test_conformance.py)."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from fer_core.errors import UsageError
from fer_core.flops import count_flops
from fer_core.registry import get_registry

DISTRIBUTIONS = {
    **{f"mycnn_v{i}": "fer-mycnn" for i in range(1, 7)},
    "resnet18": "fer-resnet",
    "vgg16": "fer-vgg",
    "vgg16_bn": "fer-vgg",
    "densenet121": "fer-densenet",
    "ma2024": "fer-ma2024",
    "multibranch": "fer-multibranch",
    "timm/efficientnet_b0": "fer-timm",
    "timm/mobilenetv3_small_100": "fer-timm",
    "timm/resnet10t": "fer-timm",
}


def build(name: str, num_classes: int = 7, in_channels: int = 1, input_size: int = 48, **options) -> nn.Module:
    torch.manual_seed(0)
    return get_registry().create("models", name, **options).build(num_classes, in_channels, input_size).eval()


def on_meta(name: str, input_size: int = 48, **options) -> nn.Module:
    with torch.device("meta"):
        return get_registry().create("models", name, **options).build(7, 1, input_size)


def logits(model: nn.Module, in_channels: int, size: int) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.randn(1, in_channels, size, size))


@pytest.mark.parametrize(
    ("name", "options", "size"),
    [
        ("mycnn_v1", {}, 16),
        ("mycnn_v6", {}, 64),
        ("resnet18", {"stem": "cifar"}, 64),
        ("resnet18", {}, 96),
        ("vgg16", {}, 32),
        ("vgg16", {"norm": "batch"}, 64),
        ("densenet121", {"stem": "imagenet"}, 96),
        ("ma2024", {}, 64),
        ("multibranch", {}, 16),
        ("multibranch", {"width": 16}, 96),
    ],
)
def test_sizes_other_than_48_and_three_channels(name, options, size):
    model = build(name, num_classes=5, in_channels=3, input_size=size, **options)
    out = logits(model, 3, size)
    assert out.shape == (1, 5) and torch.isfinite(out).all()


def test_mycnn_ladder_grows_smoothly_from_5_to_500_mflops():
    names = [f"mycnn_v{i}" for i in range(1, 7)]
    macs = [count_flops(on_meta(n), (1, 1, 48, 48)) / 1e6 for n in names]
    params = [sum(p.numel() for p in on_meta(n).parameters()) for n in names]
    assert 4 < macs[0] < 8 and 250 <= macs[-1] <= 500, macs
    assert all(b > a for a, b in itertools.pairwise(macs)), f"each version must cost more: {macs}"
    assert all(b > a for a, b in itertools.pairwise(params)), f"each version must be bigger: {params}"
    assert all(b / a < 5 for a, b in itertools.pairwise(macs)), f"no step more than 5x: {macs}"


def test_mycnn_v6_is_the_vgg_style_khaireddin_network():
    convs = [m for m in on_meta("mycnn_v6").modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)


def test_mycnn_options_reshape_any_version_per_stage():
    model = on_meta("mycnn_v1", widths=[16, 32, 64, 128], convs=[1, 2, 2, 2], hidden=128)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 32, 64, 64, 128, 128]
    assert model.head[2].out_features == 128
    assert [c.out_channels for c in on_meta("mycnn_v2", widths=[8, 8], convs=3).modules() if isinstance(c, nn.Conv2d)] == [8] * 6


def _last_stage_side(model: nn.Module, stage: nn.Module, size: int = 48) -> int:
    seen = []
    handle = stage.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[-1]))
    logits(model, 1, size)
    handle.remove()
    return seen[0]


def test_resnet_cifar_stem_keeps_resolution_and_imagenet_stem_does_not():
    cifar, imagenet = build("resnet18", stem="cifar"), build("resnet18")
    assert cifar.conv1.kernel_size == (3, 3) and cifar.conv1.stride == (1, 1) and isinstance(cifar.maxpool, nn.Identity)
    assert _last_stage_side(cifar, cifar.layer4) == 6
    assert _last_stage_side(imagenet, imagenet.layer4) == 2


def test_densenet_small_stem_reaches_the_last_block_at_3x3():
    small, imagenet = build("densenet121"), build("densenet121", stem="imagenet")
    assert _last_stage_side(small, small.features.denseblock4) == 3
    assert _last_stage_side(imagenet, imagenet.features.denseblock4) == 1


def test_densenet_last_block_trains_only_denseblock4_norm5_and_classifier():
    model = build("densenet121", train_scope="last_block").train()
    trainable = {n.split(".")[0] if n.startswith("classifier") else n.split(".")[1] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"denseblock4", "norm5", "classifier"}
    frozen_bn, live_bn = model.features.norm0, model.features.denseblock4.denselayer1.norm1
    before_frozen, before_live = frozen_bn.running_mean.clone(), live_bn.running_mean.clone()
    loss = nn.functional.cross_entropy(model(torch.randn(4, 1, 48, 48)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert torch.equal(frozen_bn.running_mean, before_frozen), "frozen layers must keep their batch-norm statistics"
    assert not torch.equal(live_bn.running_mean, before_live)
    assert model.features.conv0.weight.grad is None and model.features.denseblock4.denselayer1.conv1.weight.grad is not None


def test_densenet_all_scope_trains_everything():
    model = build("densenet121")
    assert all(p.requires_grad for p in model.parameters())


def test_vgg16_features_match_torchvision_and_head_is_small():
    import torchvision

    with torch.device("meta"):
        reference = torchvision.models.vgg16().features.state_dict()
    ours = on_meta("vgg16").state_dict()
    for key, tensor in reference.items():
        expected = (tensor.shape[0], 1, *tensor.shape[2:]) if key == "0.weight" else tensor.shape
        assert ours[f"features.{key}"].shape == expected, key
    widest = max(m.in_features for m in on_meta("vgg16").modules() if isinstance(m, nn.Linear))
    assert widest == 512, "the head must read the 512 pooled channels, not a 25,088-wide 7x7 copy"


def test_vgg16_bn_is_vgg16_with_batch_norm_under_its_own_name():
    import torchvision

    with torch.device("meta"):
        reference = torchvision.models.vgg16_bn().features.state_dict()
    ours = on_meta("vgg16_bn").state_dict()
    assert {k for k in ours if k.startswith("features.")} == {f"features.{k}" for k in reference}
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in on_meta("vgg16", norm="batch").state_dict().items()}
    assert sum(isinstance(m, nn.BatchNorm2d) for m in on_meta("vgg16_bn").modules()) == 13
    with pytest.raises(UsageError, match="norm"):
        get_registry().create("models", "vgg16_bn", norm="none")


def test_ma2024_layers_follow_the_described_layout():
    model = on_meta("ma2024")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256, 512]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 4
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3 * 3 * 512, 1024), (1024, 7)]
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in model.modules())
    assert on_meta("ma2024", input_size=64).classifier[1].in_features == 4 * 4 * 512


def test_multibranch_shape_path_sees_edges_only_and_texture_path_sees_intensity():
    model = build("multibranch")
    x = torch.rand(2, 1, 48, 48)
    brighter = x + 0.25
    with torch.no_grad():
        assert torch.allclose(model.shape(model.edges(x)), model.shape(model.edges(brighter)), atol=1e-5)
        assert not torch.allclose(model.texture(x), model.texture(brighter), atol=1e-3)
    assert "edges.kernels" not in model.state_dict(), "the Sobel filters are fixed, not weights"
    assert not any("edges" in name for name, _ in model.named_parameters())


def test_multibranch_is_cheap():
    assert 10e6 < count_flops(on_meta("multibranch"), (1, 1, 48, 48)) < 100e6


@pytest.mark.parametrize(
    ("name", "options", "fragment"),
    [
        ("resnet18", {"stem": "tiny"}, "model 'resnet18': option 'stem' expects one of imagenet, cifar, got 'tiny'"),
        ("densenet121", {"train_scope": "head"}, "option 'train_scope' expects one of all, last_block"),
        ("densenet121", {"stem": "big"}, "option 'stem' expects one of small, imagenet"),
        ("vgg16", {"norm": "layer"}, "option 'norm' expects one of none, batch"),
        ("vgg16", {"dropout": 1.5}, "dropout"),
        ("multibranch", {"width": 7}, "even width"),
        ("multibranch", {"width": "wide"}, "model 'multibranch': option 'width' expects an integer, got 'wide'"),
        ("vgg16", {"hidden": "big"}, "option 'hidden' expects an integer, got 'big'"),
        ("mycnn_v1", {"widths": [16, 0]}, "widths must be a positive integer"),
        ("mycnn_v1", {"convs": [1, 2]}, "one per stage"),
        ("mycnn_v1", {"dropout": 1.0}, "dropout must be in"),
        ("mycnn_v1", {"dropout": "abc"}, "model 'mycnn_v1': option 'dropout' expects a finite number or none, got 'abc'"),
        ("mycnn_v1", {"widths": "[16, x]"}, "option 'widths' expects"),
    ],
)
def test_bad_options_are_one_line_usage_errors(name, options, fragment):
    with pytest.raises(UsageError, match=fragment) as info:
        get_registry().create("models", name, **options)
    assert "\n" not in str(info.value)


def test_unknown_option_names_the_plugin_the_valid_ones_and_the_closest():
    with pytest.raises(UsageError) as info:
        get_registry().create("models", "resnet18", sten="cifar")
    assert str(info.value) == "model 'resnet18': unknown option 'sten'; valid: stem, pretrained (did you mean 'stem'?)"
    with pytest.raises(UsageError, match="model 'ma2024': unknown option 'bogus'; it takes no options"):
        get_registry().create("models", "ma2024", bogus="1")


def test_ma2024_refuses_inputs_smaller_than_its_four_pools():
    with pytest.raises(UsageError, match="at least 16"):
        get_registry().create("models", "ma2024").build(7, 1, 8)


@pytest.mark.parametrize(("name", "distribution"), DISTRIBUTIONS.items())
def test_each_model_comes_from_its_own_distribution(name, distribution):
    entry = get_registry().load("models", name)
    assert entry.distribution == distribution and entry.status == "ok"
