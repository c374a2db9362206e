"""DENet and SPNet: shapes align with DSRNet's features, gradients reach every part."""
import pytest
import torch

from dsr_ros.net import DENet, DENetConfig, DSRNet, DSRNetConfig, SPNet

torch.set_num_threads(1)


def _pair(scale: int = 2, units: int = 2) -> tuple[DSRNet, DENet]:
    dsr_cfg = DSRNetConfig(scale=scale, features=4, shallow=4, units=units)
    return DSRNet(dsr_cfg), DENet(DENetConfig.pairing(dsr_cfg, blocks=1))


def test_denet_features_align_with_dsrnet():
    torch.manual_seed(0)
    dsr, de = _pair(scale=2, units=3)
    lr, rgb = torch.rand(2, 1, 8, 12), torch.rand(2, 3, 16, 24)
    out_sr, out_de = dsr.forward_features(lr), de.forward_features(rgb)
    assert out_de.depth.shape == (2, 1, 16, 24)
    assert len(out_de.features) == len(out_sr.features) == 3
    assert [f.shape for f in out_de.features] == [f.shape for f in out_sr.features]
    assert [b.shape for b in out_de.boundary] == [b.shape for b in out_sr.boundary]
    assert torch.equal(de(rgb), out_de.depth)


def test_denet_rejects_bad_config():
    with pytest.raises(ValueError, match="blocks"):
        DENet(DENetConfig(features=4, shallow=4, stages=2, blocks=0))


def test_spnet_structure_map_and_gradients():
    torch.manual_seed(0)
    dsr, de = _pair()
    sp = SPNet(features=4)
    lr, rgb, hr = torch.rand(1, 1, 8, 8), torch.rand(1, 3, 16, 16), torch.rand(1, 1, 16, 16)
    hr[0, 0, :3] = float("nan")
    o_sr, o_de = dsr.forward_features(lr), de.forward_features(rgb)
    s = sp(o_sr.features[-1], o_de.features[-1], o_sr.depth, o_de.depth, hr)
    assert s.shape == (1, 1, 16, 16) and torch.isfinite(s).all()
    (s.mean() + sum(b.mean() for b in o_sr.boundary + o_de.boundary)).backward()
    for net in (dsr, de, sp):
        grads = [p.grad for p in net.parameters() if p.requires_grad]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sp.uncertainty_sr.weight.grad.abs().sum() > 0


def test_spnet_uncertainty_grows_with_error():
    sp = SPNet(features=4)
    with torch.no_grad():
        sp.uncertainty_sr.weight.fill_(1.0)
        sp.uncertainty_sr.bias.zero_()
    hr = torch.zeros(1, 1, 4, 4)
    d = torch.zeros(1, 1, 4, 4)
    d[..., 0, 0] = 3.0
    u_sr, _ = sp.uncertainties(d, d, hr)
    assert u_sr[0, 0, 0, 0].item() > u_sr[0, 0, 1, 1].item() == pytest.approx(0.5)


def test_spnet_rejects_misaligned_features():
    sp = SPNet(features=4)
    d = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match="aligned"):
        sp(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 4), d, d, d)


def test_boundary_grad_false_keeps_boundary_depths_out_of_the_graph():
    """A teacher that still trains gives its boundary depths as fixed targets; its features keep their graph."""
    dsr, de = _pair()
    for net, x in ((dsr, torch.rand(1, 1, 6, 6)), (de, torch.rand(1, 3, 12, 12))):
        out = net.forward_features(x, boundary_grad=False)
        assert out.depth.requires_grad and all(f.requires_grad for f in out.features)
        assert out.boundary and not any(b.requires_grad for b in out.boundary)
        assert all(b.requires_grad for b in net.forward_features(x).boundary)
