import math

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


# --- ReviewKD written from the paper (Chen et al., CVPR 2021) and its authors' code --------------
# (METHODS.md section 1). Plain tensor arithmetic with the weights copied out of mmkd's modules,
# so a wrong wiring, order, interpolation, normalisation or weighting in mmkd changes the number.

def adaptive_pool(x, k):
    """Adaptive average pooling to k x k by its definition: bin i spans
    [floor(i * H / k), ceil((i + 1) * H / k)), likewise in width (bins overlap when k does not
    divide H)."""
    h, w = x.shape[-2:]

    def bins(size):
        return [((i * size) // k, -(-((i + 1) * size) // k)) for i in range(k)]

    return torch.stack([torch.stack([x[..., r0:r1, c0:c1].mean(dim=(-2, -1))
                                     for c0, c1 in bins(w)], dim=-1)
                        for r0, r1 in bins(h)], dim=-2)


def paper_hcl(a, b, pool_sizes=(4, 2, 1)):
    """HCL of one level pair: (MSE + sum_k w_k MSE(AAP_k)) / (1 + sum_k w_k), k >= H skipped,
    w = 0.5, 0.25, ... over the pooled terms actually used."""
    def mse(u, v):
        return ((u - v) ** 2).mean()

    numerator, denominator, weight = mse(a, b), 1.0, 0.5
    for k in pool_sizes:
        if k >= a.shape[-2]:
            continue
        numerator = numerator + weight * mse(adaptive_pool(a, k), adaptive_pool(b, k))
        denominator += weight
        weight /= 2
    return numerator / denominator


def nearest_resize(y, size):
    """F.interpolate(mode='nearest') as the authors use it: output pixel i reads input pixel
    floor(i * in / out)."""
    rows = torch.arange(size[0]) * y.shape[-2] // size[0]
    cols = torch.arange(size[1]) * y.shape[-1] // size[1]
    return y[..., rows, :][..., cols]


def batch_norm_train(x, bn):
    """BatchNorm2d in training mode: per-channel batch mean and biased variance, eps 1e-5, then
    the module's affine weight and bias."""
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * bn.weight.view(1, -1, 1, 1) \
        + bn.bias.view(1, -1, 1, 1)


def paper_abf(abf, feature, residual=None):
    """The authors' ABF on ``abf``'s weights: x = BN(conv1x1(F)) (no bias); with a residual y
    (resized nearest to x), z = sigmoid(conv1x1([x, y]) + b) (2 maps), x = x * z0 + y * z1;
    returns (BN(conv3x3(x)) with padding 1 and no bias, x)."""
    x = batch_norm_train(F.conv2d(feature, abf.reduce[0].weight), abf.reduce[1])
    if residual is not None:
        y = nearest_resize(residual, x.shape[-2:])
        z = torch.sigmoid(F.conv2d(torch.cat([x, y], dim=1), abf.attention.weight,
                                   abf.attention.bias))
        x = x * z[:, 0:1] + y * z[:, 1:2]
    out = batch_norm_train(F.conv2d(x, abf.project[0].weight, padding=1), abf.project[1])
    return out, x


def paper_reviewkd_loss(abfs, student_feats, teacher_feats, loss_weight):
    """The deepest level first, its fused x passed as the residual of the next shallower level;
    HCL of each fused level against its teacher level, summed, times loss_weight."""
    fused, residual = [None] * len(student_feats), None
    for level in reversed(range(len(student_feats))):
        fused[level], residual = paper_abf(abfs[level], student_feats[level], residual)
    return loss_weight * sum(paper_hcl(f, t) for f, t in zip(fused, teacher_feats))


def scramble_affine(module):
    """BN affine params away from (1, 0) and a sharper attention conv, so that swapping the two
    BNs, the two attention maps or x and y is visible in the output."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, torch.nn.BatchNorm2d):
                sub.weight.uniform_(0.5, 2.0)
                sub.bias.normal_()
            elif isinstance(sub, ABF) and sub.attention is not None:
                sub.attention.weight.mul_(4)
                sub.attention.bias.normal_()


def test_hcl_on_sizes_the_pools_do_not_divide():
    # 7 x 5 maps: adaptive pooling to 4 and 2 uses overlapping, unequal bins.
    torch.manual_seed(2)
    a, b = torch.randn(2, 3, 7, 5), torch.randn(2, 3, 7, 5)
    assert hcl_loss(a, b).item() == pytest.approx(paper_hcl(a, b).item(), rel=1e-6)


@pytest.mark.parametrize('size, residual_size', [((8, 8), (4, 4)), ((7, 5), (4, 3)),
                                                 ((13, 9), (7, 5))])
def test_abf_is_the_papers_fusion(size, residual_size):
    torch.manual_seed(0)
    abf = ABF(6, 5, 7, fuse=True)
    scramble_affine(abf)
    feature, residual = torch.randn(2, 6, *size), torch.randn(2, 5, *residual_size)
    out, fused = abf(feature, residual)
    expected_out, expected_fused = paper_abf(abf, feature, residual)
    assert out.shape == (2, 7, *size) and fused.shape == (2, 5, *size)
    torch.testing.assert_close(out, expected_out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fused, expected_fused, rtol=1e-4, atol=1e-5)


def test_deepest_abf_does_not_fuse():
    torch.manual_seed(0)
    abf = ABF(6, 5, 7, fuse=False)
    scramble_affine(abf)
    feature = torch.randn(2, 6, 4, 3)
    out, residual = abf(feature)
    expected_out, expected_residual = paper_abf(abf, feature)
    torch.testing.assert_close(out, expected_out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(residual, expected_residual, rtol=1e-4, atol=1e-5)


def test_abf_convs_start_kaiming_uniform_with_a_1():
    # kaiming_uniform_(a=1): gain sqrt(2 / (1 + a^2)) = 1, U(-b, b) with b = sqrt(3 / fan_in).
    # (PyTorch's default conv init, a = sqrt(5), has b = sqrt(1 / fan_in), 0.58 of that.)
    torch.manual_seed(0)
    abf = ABF(64, 32, 48, fuse=True)
    for conv in (abf.reduce[0], abf.project[0]):
        weight = conv.weight.detach()
        bound = math.sqrt(3 / weight[0].numel())
        assert weight.abs().max() <= bound
        assert weight.abs().max() > 0.97 * bound
        assert weight.var().item() == pytest.approx(bound ** 2 / 3, rel=0.1)


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


@pytest.mark.parametrize('mid_channels', [None, 6])
def test_reviewkd_loss_is_the_papers(mid_channels):
    """The whole loss against the paper's ABF chain and HCL, on a 4-level pyramid whose sizes
    FPN gives an odd input (13x15 -> 7x8 -> 4x4 -> 2x2), student 8 and teacher 12 channels."""
    torch.manual_seed(0)
    sizes = ((13, 15), (7, 8), (4, 4), (2, 2))
    student = tuple(torch.randn(2, 8, h, w) for h, w in sizes)
    teacher = tuple(torch.randn(2, 12, h, w) for h, w in sizes)
    distiller = ReviewKD(loss_weight=1.7, mid_channels=mid_channels)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    assert [abf.reduce[0].weight.shape[0] for abf in distiller.abfs] == [mid_channels or 12] * 4
    scramble_affine(distiller)
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_reviewkd']
    expected = paper_reviewkd_loss(distiller.abfs, student, teacher, 1.7)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_reviewkd_pairs_levels_by_stride_and_chains_the_paired_ones():
    """A Faster R-CNN FPN (strides 4-64 at the 128 px probe: 32..2 px maps) next to a RetinaNet
    one (8-128: 16..1 px): strides 8, 16, 32, 64 pair, student levels 1-4 with teacher levels
    0-3; the ABF chain and the loss run over those four only."""
    from mmkd.models.distillers import pair_levels
    torch.manual_seed(0)
    student = pyramid(8, sizes=(32, 16, 8, 4, 2))
    teacher = pyramid(12, sizes=(16, 8, 4, 2, 1))
    assert [(p.stride, p.student, p.teacher) for p in pair_levels(
        student, teacher, 'X', 'neck', 'neck')] == [(8, 1, 0), (16, 2, 1), (32, 3, 2), (64, 4, 3)]
    distiller = ReviewKD(loss_weight=1.3)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    assert len(distiller.abfs) == 4 and distiller.abfs[3].attention is None
    scramble_affine(distiller)
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_reviewkd']
    expected = paper_reviewkd_loss(distiller.abfs, student[1:], teacher[:4], 1.3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

    picked = ReviewKD(strides=(16, 64))
    picked.setup(dict(feats=student), dict(feats=teacher))
    assert [(p.student, p.teacher) for p in picked.pairs] == [(2, 1), (4, 3)]
    expected = paper_reviewkd_loss(picked.abfs, (student[2], student[4]),
                                   (teacher[1], teacher[3]), 1.0)
    loss = picked(dict(feats=student), dict(feats=teacher))['loss_reviewkd']
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_reviewkd_refuses_levels_that_cannot_pair():
    distiller = ReviewKD()
    with pytest.raises(ValueError, match=r"no feature level of the same stride: student 'neck' "
                                         r"has strides \[8, 16\], teacher 'neck' \[32, 64\]"):
        distiller.setup(dict(feats=pyramid(8, sizes=(16, 8))),
                        dict(feats=pyramid(8, sizes=(4, 2))))
    with pytest.raises(ValueError, match=r'strides=\[8, 128\] asks for \[128\], which the two '
                                         r'models do not share \(shared: \[8, 16, 32, 64\]'):
        ReviewKD(strides=[8, 128]).setup(dict(feats=pyramid(8)),
                                         dict(feats=pyramid(8, sizes=(32, 16, 8, 4, 2))))
    with pytest.raises(ValueError, match='needs modules that return a tuple'):
        distiller.setup(dict(feats=torch.zeros(1, 8, 4, 4)), dict(feats=pyramid(8)))


def test_abf_gradients_are_the_papers():
    """ABF's gradients w.r.t. its student feature, the residual from the deeper level and its
    own parameters are those of the paper's fusion above (autograd through ``paper_abf``);
    the residual's is nonzero (it reaches the deeper level through ``y``).

    Catches (mmkd/models/connectors/abf.py): ``F.interpolate(residual.detach(), ...)`` (no
    gradient to the residual) and ``return self.project(x), x.detach()`` (the fused ``x``,
    the residual handed on, carries no gradient; the ``fused ** 3`` term sees it)."""
    torch.manual_seed(0)
    abf = ABF(6, 5, 7, fuse=True)
    scramble_affine(abf)
    feature = torch.randn(2, 6, 7, 5, requires_grad=True)
    residual = torch.randn(2, 5, 4, 3, requires_grad=True)
    target = torch.randn(2, 7, 7, 5)
    params = list(abf.parameters())
    out, fused = abf(feature, residual)
    got = torch.autograd.grad(((out - target) ** 2).sum() + (fused ** 3).sum(),
                              [feature, residual, *params])
    out, fused = paper_abf(abf, feature, residual)
    expected = torch.autograd.grad(((out - target) ** 2).sum() + (fused ** 3).sum(),
                                   [feature, residual, *params])
    assert expected[1].abs().sum() > 0
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


def test_reviewkd_shallow_loss_reaches_deeper_levels_through_the_residual_chain():
    """The HCL of the shallowest level alone depends on the deeper student levels and ABF
    blocks only through the residual each ABF passes to the next shallower one. Its gradient
    w.r.t. every student level and every ABF parameter must be the autograd gradient of the
    paper's chain (``paper_abf`` deep to shallow, ``paper_hcl``), and nonzero on the deeper
    levels; the whole loss's gradients likewise.

    Catches: the residual detached between ABF blocks, e.g.
    ``return self.project(x), x.detach()`` in mmkd/models/connectors/abf.py,
    ``F.interpolate(residual.detach(), ...)`` there, or ``self.abfs[level](student_feats[level],
    None if residual is None else residual.detach())`` in
    mmkd/models/distillers/review_kd.py's ``aligned_levels``."""
    torch.manual_seed(0)
    sizes = ((13, 15), (7, 8), (4, 4), (2, 2))
    student = tuple(torch.randn(2, 8, h, w, requires_grad=True) for h, w in sizes)
    teacher = tuple(torch.randn(2, 12, h, w) for h, w in sizes)
    distiller = ReviewKD(loss_weight=1.3, mid_channels=6)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    scramble_affine(distiller)
    params = list(distiller.abfs.parameters())
    deeper_params = list(distiller.abfs[1:].parameters())
    inputs = [*student, *params]

    (_, fused, target), *_ = distiller.aligned_levels(dict(feats=student), dict(feats=teacher))
    got = torch.autograd.grad(hcl_loss(fused, target), inputs, allow_unused=True)

    fused, residual = [None] * 4, None
    for level in reversed(range(4)):
        fused[level], residual = paper_abf(distiller.abfs[level], student[level], residual)
    expected = torch.autograd.grad(paper_hcl(fused[0], teacher[0]), inputs, allow_unused=True)

    for level in range(4):           # every student level, the deeper ones via the residual
        assert expected[level].abs().sum() > 0
        assert got[level] is not None and got[level].abs().sum() > 0, level
    # every deeper ABF parameter that the residual x depends on (not their 3x3 output
    # projection, which the shallow level never sees)
    deeper_on_path = [p for abf in distiller.abfs[1:] for p in
                      [*abf.reduce.parameters(),
                       *(abf.attention.parameters() if abf.attention is not None else [])]]
    on_path = {id(p) for p in deeper_on_path}
    for p, g in zip(params, got[4:]):
        if id(p) in on_path:
            assert g is not None and g.abs().sum() > 0
    for g, e in zip(got, expected):
        if e is None:
            assert g is None or g.abs().sum() == 0
        else:
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)
    assert len(deeper_params) > len(deeper_on_path)

    # the whole loss: every gradient is the paper's chain's
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_reviewkd']
    got = torch.autograd.grad(loss, inputs)
    expected = torch.autograd.grad(paper_reviewkd_loss(distiller.abfs, student, teacher, 1.3),
                                   inputs)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)
