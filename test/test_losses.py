"""Losses: SSIM identities, masking, distillation zeros and gradients, affinity memory."""
import pytest
import torch

from dsr_ros.net import DSRNetOutput
from dsr_ros.train import losses

torch.set_num_threads(1)


def _out(features: list[torch.Tensor], boundary: list[torch.Tensor]) -> DSRNetOutput:
    return DSRNetOutput(depth=boundary[-1], features=features, boundary=boundary)


def test_ssim_of_identical_images_is_one_and_drops_with_noise():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 24, 24)
    assert losses.ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    assert losses.ssim(x + 0.3 * torch.randn_like(x), x).item() < 0.9


def test_ssim_matches_direct_formula_on_constant_images():
    a, b = torch.full((1, 1, 16, 16), 0.2), torch.full((1, 1, 16, 16), 0.6)
    c1 = 0.01**2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)  # variances are zero
    assert losses.ssim(a, b).item() == pytest.approx(expected, rel=1e-4)


def test_masked_l1_ignores_invalid_pixels():
    pred = torch.zeros(1, 1, 4, 4, requires_grad=True)
    target = torch.ones(1, 1, 4, 4)
    target[..., :2, :] = float("nan")
    loss = losses.masked_l1(pred, target)
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert torch.all(pred.grad[..., :2, :] == 0) and torch.all(pred.grad[..., 2:, :] < 0)


def test_de_loss_is_zero_at_target_and_finite_with_holes():
    torch.manual_seed(0)
    t = torch.rand(1, 1, 16, 16)
    assert losses.de_loss(t, t).item() == pytest.approx(0.0, abs=1e-5)
    t[..., 0, :] = float("nan")
    p = torch.rand(1, 1, 16, 16, requires_grad=True)
    loss = losses.de_loss(p, t)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0 and torch.isfinite(p.grad).all()


def test_affinity_of_identical_features_gives_zero_loss_and_differs_otherwise():
    torch.manual_seed(0)
    f = [torch.randn(2, 4, 32, 32) for _ in range(2)]
    b = [torch.rand(2, 1, 32, 32) for _ in range(2)]
    same = losses.distillation(_out(f, b), _out([x.clone() for x in f], [x.clone() for x in b]), gamma=1.0)
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    other = losses.affinity_distillation(_out(f, b), _out([torch.randn_like(x) for x in f], b))
    assert 0 < other.item() <= 2


def test_distillation_gradient_reaches_student_not_teacher():
    torch.manual_seed(0)
    fs = [torch.randn(1, 4, 16, 16, requires_grad=True)]
    ft = [torch.randn(1, 4, 16, 16, requires_grad=True)]
    bs, bt = [torch.rand(1, 1, 16, 16, requires_grad=True)], [torch.rand(1, 1, 16, 16, requires_grad=True)]
    losses.distillation(_out(fs, bs), _out(ft, bt), gamma=0.5, pool=8).backward()
    assert fs[0].grad.abs().sum() > 0 and bs[0].grad.abs().sum() > 0
    assert ft[0].grad is None and bt[0].grad is None


def test_affinity_memory_follows_the_formula():
    n, units, p = 3, 2, 16
    mats = [losses.affinity(torch.randn(n, 4, 48, 40), pool=p) for _ in range(units)]
    assert mats[0].shape == (n, p * p, p * p)
    assert sum(m.numel() * m.element_size() for m in mats) == n * units * p**4 * 4
    assert torch.allclose(mats[0].sum(-1), torch.ones(n, p * p))


def test_distillation_rejects_missing_boundary():
    f = [torch.randn(1, 4, 8, 8)]
    with pytest.raises(ValueError, match="forward_features"):
        losses.output_distillation(DSRNetOutput(f[0], f, []), DSRNetOutput(f[0], f, []))


def test_sobel_magnitude_of_a_ramp_and_structure_loss():
    ramp = torch.arange(8, dtype=torch.float32).repeat(8, 1)[None, None]  # slope 1 along x
    g = losses.sobel_magnitude(ramp)
    assert torch.allclose(g[..., 1:-1, 1:-1], torch.full((1, 1, 6, 6), 8.0))  # Sobel gain is 8
    ramp[..., 4, 4] = float("nan")
    g = losses.sobel_magnitude(ramp)
    assert torch.isnan(g[..., 3:6, 3:6]).all() and torch.isfinite(g[..., 0, :]).all()
    pred = torch.zeros_like(ramp, requires_grad=True)
    loss = losses.structure_loss(pred, ramp)
    loss.backward()
    assert loss.item() > 0 and torch.isfinite(pred.grad).all()


def _fit_constant(loss, target_ratios: list[float]) -> float:
    """The depth ratio one constant prediction settles on under `loss` (gradient descent in log space)."""
    target = torch.log(torch.tensor(target_ratios + [float("nan")])).view(1, 1, 1, -1)  # one invalid pixel
    pred = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([pred], lr=0.03)
    for _ in range(800):
        opt.zero_grad()
        loss(pred.expand_as(target), target).backward()
        opt.step()
    return float(torch.exp(pred.detach()))


def test_mse_hedges_at_an_ambiguous_edge_where_l1_bets():
    # Two of three samples say foreground (ratio 1), one background (ratio 4): RMSE is lowest at the
    # mean (2), which ratio_mse finds; ratio_l1 settles on the median (1), the sharp answer.
    assert _fit_constant(losses.ratio_mse, [1.0, 1.0, 4.0]) == pytest.approx(2.0, rel=0.02)
    assert _fit_constant(losses.ratio_l1, [1.0, 1.0, 4.0]) == pytest.approx(1.0, rel=0.02)
    assert set(losses.TASK_LOSSES) == {"l1", "mse"}
