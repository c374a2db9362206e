"""DSRNet shapes for every scale and variant, exact sizes for odd inputs, and feature outputs."""
import pytest
import torch

from dsr_ros.net import VARIANTS, DSRNet, DSRNetConfig, build_dsrnet


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_scale_and_variant_gives_exact_sizes(scale, variant):
    net = build_dsrnet(DSRNetConfig.from_variant(variant, scale)).eval()
    with torch.inference_mode():
        out = net(torch.rand(2, 1, 3, 5))
    assert out.shape == (2, 1, 3 * scale, 5 * scale)
    assert out.dtype == torch.float32
    assert net.config.units == VARIANTS[variant]["units"]


@pytest.mark.parametrize("h,w", [(1, 1), (7, 13), (2, 9)])
def test_odd_sizes(h, w):
    net = DSRNet(DSRNetConfig(scale=4, features=4, shallow=4, units=2)).eval()
    with torch.inference_mode():
        assert net(torch.rand(1, 1, h, w)).shape == (1, 1, 4 * h, 4 * w)


def test_features_and_boundary_outputs_per_unit():
    net = DSRNet(DSRNetConfig(scale=2, features=6, shallow=4, units=3))
    x = torch.rand(1, 1, 5, 4)
    out = net.forward_features(x)
    assert len(out.features) == len(out.boundary) == 3
    assert all(f.shape == (1, 6, 10, 8) for f in out.features)
    assert all(b.shape == (1, 1, 10, 8) for b in out.boundary)
    assert torch.allclose(out.depth, net(x))
    out.depth.mean().backward()
    assert net.ups[0].up1.op.weight.grad is not None


def test_forward_is_residual_over_bicubic():
    """With the reconstruction zeroed, the network is exactly bicubic upsampling."""
    net = DSRNet(DSRNetConfig(scale=4, features=4, shallow=4, units=1)).eval()
    torch.nn.init.zeros_(net.reconstruct[0].weight)
    torch.nn.init.zeros_(net.reconstruct[0].bias)
    x = torch.rand(1, 1, 6, 6)
    expected = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    with torch.inference_mode():
        assert torch.allclose(net(x), expected)


def test_bad_configuration_names_allowed_values():
    with pytest.raises(ValueError, match=r"scale must be one of \[2, 4, 8, 16\], got 3"):
        DSRNet(DSRNetConfig(scale=3))
    with pytest.raises(ValueError, match="variant must be one of"):
        DSRNetConfig.from_variant("huge", 4)
