import pytest
import torch
import torch.nn.functional as F

from mmkd.models.connectors import ABF
from mmkd.models.distillers import ReviewKD
from mmkd.models.losses import hcl_loss


def checkerboard(size):
    idx = torch.arange(size)
    return ((idx[:, None] + idx[None, :]) % 2 * 2 - 1).float().view(1, 1, size, size)


def test_hcl_checkerboard_against_hand_value():
    # B = +-1 checkerboard, A = 0: MSE = 1; every pooled map of B is 0, so each pooled term is 0.
    # All three pools apply at H = 8: denominator 1 + 0.5 + 0.25 + 0.125 = 1.875.
    b = checkerboard(8)
    loss = hcl_loss(torch.zeros_like(b), b)
    assert loss.item() == pytest.approx(1 / 1.875)


def test_hcl_matches_formula_on_random_maps():
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)

    def pool(x, k):   # adaptive pooling of 8x8 to kxk is a mean over (8/k)x(8/k) blocks
        s = 8 // k
        return x.view(2, 3, k, s, k, s).mean(dim=(3, 5))

    expected = (((a - b) ** 2).mean() + 0.5 * ((pool(a, 4) - pool(b, 4)) ** 2).mean()
                + 0.25 * ((pool(a, 2) - pool(b, 2)) ** 2).mean()
                + 0.125 * ((pool(a, 1) - pool(b, 1)) ** 2).mean()) / 1.875
    assert hcl_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize('height, used_weights', [(4, (0.5, 0.25)), (2, (0.5,)), (1, ())])
def test_hcl_skips_pool_sizes_not_below_height(height, used_weights):
    torch.manual_seed(1)
    a, b = torch.randn(1, 2, height, height), torch.randn(1, 2, height, height)
    used_sizes = [k for k in (4, 2, 1) if k < height]
    numerator = F.mse_loss(a, b) + sum(
        w * ((a.mean(dim=(2, 3)) - b.mean(dim=(2, 3))) ** 2).mean() if k == 1 else
        w * F.mse_loss(F.avg_pool2d(a, height // k), F.avg_pool2d(b, height // k))
        for w, k in zip(used_weights, used_sizes))
    expected = numerator / (1 + sum(used_weights))
    assert hcl_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-6)


def test_hcl_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r'student \(1, 2, 4, 4\) vs teacher \(1, 3, 4, 4\)'):
        hcl_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))


def test_abf_shapes_and_fusion():
    deepest = ABF(16, 24, 64, fuse=False)
    out, residual = deepest(torch.randn(2, 16, 4, 4))
    assert out.shape == (2, 64, 4, 4) and residual.shape == (2, 24, 4, 4)
    assert deepest.attention is None
    shallower = ABF(16, 24, 64, fuse=True)
    out, residual2 = shallower(torch.randn(2, 16, 8, 8), residual)
    assert out.shape == (2, 64, 8, 8) and residual2.shape == (2, 24, 8, 8)
    assert shallower.attention.out_channels == 2 and shallower.attention.bias is not None


def pyramid(channels, sizes=(16, 8, 4, 2), batch=2):
    return tuple(torch.randn(batch, channels, s, s) for s in sizes)


def test_reviewkd_infers_channels_and_levels():
    distiller = ReviewKD(loss_weight=1.0)
    distiller.setup(dict(feats=pyramid(32)), dict(feats=pyramid(64)))
    assert len(distiller.abfs) == 4
    for level, abf in enumerate(distiller.abfs):
        assert abf.reduce[0].in_channels == 32
        assert abf.project[0].out_channels == 64
        assert (abf.attention is None) == (level == 3)


def test_reviewkd_processes_deepest_level_first_and_sums_hcl():
    torch.manual_seed(0)
    distiller = ReviewKD(loss_weight=2.0)
    student, teacher = pyramid(8), pyramid(12)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    order, outputs = [], {}

    def record(level):
        def hook(module, inputs, output):
            order.append(level)
            outputs[level] = output[0]
        return hook

    for level, abf in enumerate(distiller.abfs):
        abf.register_forward_hook(record(level))
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_reviewkd']
    assert order == [3, 2, 1, 0]
    expected = 2.0 * sum(hcl_loss(outputs[i], teacher[i]) for i in range(4))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_reviewkd_refuses_levels_that_cannot_pair():
    distiller = ReviewKD()
    with pytest.raises(ValueError, match='student .neck. gives 4 levels, teacher .neck. 5'):
        distiller.setup(dict(feats=pyramid(8)), dict(feats=pyramid(8, sizes=(32, 16, 8, 4, 2))))
    with pytest.raises(ValueError, match=r'level 1 has size \(8, 8\) in the student'):
        distiller.setup(dict(feats=pyramid(8)), dict(feats=pyramid(8, sizes=(16, 9, 4, 2))))
