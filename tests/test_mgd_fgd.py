"""MGD and FGD: their losses against the papers' formulas written out here (numpy loops), and
the distillers on the shapes pair."""
import itertools
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from conftest import CONFIGS
from mmkd.models.connectors import MaskedGeneration
from mmkd.models.distillers import FGD, MGD
from mmkd.models.losses import attention_maps, box_masks, focal_losses
from mmkd.models.teacher import PROBE_SIZE
from mmkd.registry import MODELS
from test_distill_detector import fake_batch


def conv3x3(x, weight, bias):
    """A 3x3 convolution with zero padding 1, by loops: x (C, H, W), weight (O, C, 3, 3)."""
    c, h, w = x.shape
    padded = np.zeros((c, h + 2, w + 2))
    padded[:, 1:-1, 1:-1] = x
    out = np.zeros((weight.shape[0], h, w))
    for o in range(weight.shape[0]):
        for i in range(h):
            for j in range(w):
                out[o, i, j] = (padded[:, i:i + 3, j:j + 3] * weight[o]).sum() + bias[o]
    return out


def generation_by_hand(block, x):
    """G(x) = conv3x3(ReLU(conv3x3(x))) with the block's weights, x (C, H, W)."""
    first, second = block.generation[0], block.generation[2]
    hidden = np.maximum(conv3x3(x, first.weight.detach().double().numpy(),
                                first.bias.detach().double().numpy()), 0)
    return conv3x3(hidden, second.weight.detach().double().numpy(),
                   second.bias.detach().double().numpy())


def test_mgd_masks_whole_positions_at_the_drop_ratio():
    block = MaskedGeneration(3, drop_ratio=0.65)
    torch.manual_seed(0)
    mask = block.random_mask(torch.ones(8, 3, 50, 50))
    assert mask.shape == (8, 1, 50, 50)             # one mask for all channels of a position
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert (1 - mask).mean().item() == pytest.approx(0.65, abs=0.01)
    assert not torch.equal(block.random_mask(torch.ones(8, 3, 50, 50)), mask)   # fresh each call
    with pytest.raises(ValueError, match='drop_ratio'):
        MaskedGeneration(3, drop_ratio=1.0)


def test_mgd_is_the_papers_formula_on_a_known_mask(monkeypatch):
    """alpha * sum_levels sum_{c,h,w} (T - G(S * M))^2 / N, G = conv3x3-ReLU-conv3x3."""
    torch.manual_seed(0)
    student = (torch.randn(2, 4, 6, 6), torch.randn(2, 4, 3, 3))
    teacher = (torch.randn(2, 4, 6, 6), torch.randn(2, 4, 3, 3))
    distiller = MGD(loss_weight=0.5)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    checkerboard = lambda feat: ((torch.arange(feat.shape[-1])[None, :]      # noqa: E731
                                  + torch.arange(feat.shape[-2])[:, None]) % 2).float().expand(
                                      feat.shape[0], 1, -1, -1)
    monkeypatch.setattr(MaskedGeneration, 'random_mask', lambda self, feat: checkerboard(feat))
    loss = distiller(dict(feats=student), dict(feats=teacher))['loss_mgd']

    expected = 0.0
    for level, (s, t) in enumerate(zip(student, teacher)):
        block = distiller.adapters[level][1]
        mask = checkerboard(s)[0, 0].numpy()
        for n in range(2):
            generated = generation_by_hand(block, s[n].double().numpy() * mask)
            expected += ((t[n].double().numpy() - generated) ** 2).sum() / 2
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_mgd_trains_the_generator_and_the_student_not_the_teacher():
    torch.manual_seed(0)
    student = tuple(torch.randn(2, 4, s, s, requires_grad=True) for s in (8, 4))
    teacher = tuple(torch.randn(2, 6, s, s, requires_grad=True) for s in (8, 4))
    distiller = MGD()
    distiller.setup(dict(feats=student), dict(feats=teacher))
    distiller(dict(feats=student), dict(feats=teacher))['loss_mgd'].backward()
    assert all(s.grad.abs().sum() > 0 for s in student)
    assert all(t.grad is None for t in teacher)
    assert all(p.grad is not None for p in distiller.parameters())


def test_mgd_draws_a_mask_per_image():
    """The paper's (and yzd-v/MGD's) mask is drawn per image: an (N, 1, H, W) uniform draw,
    a position dropped where it falls below the drop ratio. Read off what the generation
    block receives: with a student map of ones (equal widths: no connector), the input of
    the first 3x3 conv is the mask itself, on every channel. Each image's mask must drop its
    own share of ``drop_ratio`` and the images' masks must differ.

    Catches (mmkd/models/connectors/masked_generation.py, ``random_mask``):
    ``keep = (torch.rand(1, 1, h, w, ...) >= self.drop_ratio).expand(n, -1, -1, -1)`` (or
    ``.repeat(n, 1, 1, 1)``): one mask for the whole batch; likewise ``forward`` masking with
    ``self.random_mask(feat[:1])``."""
    torch.manual_seed(0)
    batch, drop_ratio = 6, 0.45
    student = (torch.ones(batch, 3, 32, 32), torch.ones(batch, 3, 16, 16))
    teacher = (torch.zeros(batch, 3, 32, 32), torch.zeros(batch, 3, 16, 16))
    distiller = MGD(drop_ratio=drop_ratio)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    seen = []
    for adapter in distiller.adapters:
        adapter[1].generation[0].register_forward_hook(
            lambda module, inputs, output: seen.append(inputs[0].detach().clone()))
    distiller(dict(feats=student), dict(feats=teacher))
    assert len(seen) == 2
    for masked in seen:
        assert masked.shape[0] == batch
        assert set(masked.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(masked, masked[:, :1].expand_as(masked))   # whole positions
        masks = masked[:, 0]
        positions = masks[0].numel()
        for n in range(batch):       # each image drops about drop_ratio of its positions
            dropped = (masks[n] == 0).float().mean().item()
            tolerance = 5 * np.sqrt(drop_ratio * (1 - drop_ratio) / positions)
            assert dropped == pytest.approx(drop_ratio, abs=tolerance)
        for a, b in itertools.combinations(range(batch), 2):
            # independent draws agree on a position with probability p^2 + (1-p)^2 = 0.505
            differ = (masks[a] != masks[b]).float().mean().item()
            assert differ > 0.3, (a, b, differ)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def attention_by_the_paper(feat, temperature):
    """A^S = H W softmax(G^S / T), G^S = mean_c |F|; A^C = C softmax(G^C / T), G^C = mean_hw |F|;
    one image, feat (C, H, W)."""
    c, h, w = feat.shape
    spatial_g = np.abs(feat).sum(axis=0) / c
    channel_g = np.abs(feat).sum(axis=(1, 2)) / (h * w)
    spatial = h * w * softmax(spatial_g.ravel() / temperature).reshape(h, w)
    return spatial, c * softmax(channel_g / temperature)


@pytest.mark.parametrize('temperature', [0.5, 2.0])
def test_fgd_attention_is_the_papers(temperature):
    torch.manual_seed(0)
    feat = torch.randn(2, 3, 4, 5)
    spatial, channel = attention_maps(feat, temperature)
    for n in range(2):
        s, c = attention_by_the_paper(feat[n].double().numpy(), temperature)
        np.testing.assert_allclose(spatial[n].numpy(), s, rtol=1e-5)
        np.testing.assert_allclose(channel[n].numpy(), c, rtol=1e-5)


def test_fgd_box_masks_of_a_hand_drawn_image():
    """Stride 4 on an 8x8 map. A box over pixels x 4-12, y 4-20 covers cells x 1-2, y 1-4 (8
    cells, 1/8 each); a box over cell (2, 2) alone weighs 1 there (the larger of the two); the
    other 56 cells are background, 1/56 each. A second image without boxes: all background."""
    boxes = [torch.tensor([[4., 4., 12., 20.], [8., 8., 12., 12.]]), torch.zeros(0, 4)]
    foreground, background = box_masks(boxes, stride=4, size=(8, 8))
    expected = np.zeros((8, 8))
    expected[1:5, 1:3] = 1 / 8
    expected[2, 2] = 1.0
    np.testing.assert_allclose(foreground[0].numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(background[0].numpy(), (expected == 0) / 56, rtol=1e-6)
    assert foreground[1].sum() == 0
    np.testing.assert_allclose(background[1].numpy(), np.full((8, 8), 1 / 64), rtol=1e-6)


@pytest.mark.parametrize('order', list(itertools.permutations(range(3))))
def test_fgd_box_masks_the_smallest_box_wins_in_any_order(order):
    """Where boxes overlap, each cell keeps the largest 1 / (h w), i.e. the smallest box's
    weight (yzd-v/FGD: ``torch.maximum`` of the mask and the box's area weight), whatever
    the order the boxes come in. Stride 4, 8x8 map:
    large box, pixels x 0-24, y 0-16: cells x 0-5, y 0-3, 24 cells, 1/24;
    small box, pixels x 9-15, y 5-11: cells x 2-3, y 1-2, 4 cells, 1/4 (inside the large);
    partial box, pixels x 20-32, y 12-32: cells x 5-7, y 3-7, 15 cells, 1/15 (shares cell
    x 5, y 3 with the large one). Foreground cells 24 + 15 - 1 = 38, background 26.

    Catches (mmkd/models/losses/fgd.py, ``box_masks``): ``region.fill_(1.0 / (...))`` (the
    later box overwrites), ``region.clamp_(max=...)``-style smallest weight, or filling only
    empty cells (the first box wins)."""
    all_boxes = [[0., 0., 24., 16.], [9., 5., 15., 11.], [20., 12., 32., 32.]]
    boxes = torch.tensor([all_boxes[i] for i in order])
    reversed_boxes = boxes.flip(0)
    foreground, background = box_masks([boxes, reversed_boxes], stride=4, size=(8, 8))
    expected = np.zeros((8, 8))
    expected[0:4, 0:6] = 1 / 24
    expected[3:8, 5:8] = 1 / 15       # overwrites the large box's 1/24 at row 3, column 5
    expected[1:3, 2:4] = 1 / 4
    assert (expected > 0).sum() == 38
    for image in range(2):
        np.testing.assert_allclose(foreground[image].numpy(), expected, rtol=1e-6)
        np.testing.assert_allclose(background[image].numpy(), (expected == 0) / 26, rtol=1e-6)


def attention_loss_by_the_paper(student, teacher, temperature):
    """The attention loss in torch ops (for autograd), per image written out:
    A^S = H W exp(G^S / T) / sum exp(G^S / T), G^S = sum_c |F| / C; A^C likewise over
    channels, G^C = sum_hw |F| / (H W); sum |A^C_T - A^C_S| + sum |A^S_T - A^S_S|; the mean
    over images. The teacher is a constant."""
    total = 0
    n, c, h, w = student.shape
    for i in range(n):
        maps = []
        for feat in (teacher[i].detach(), student[i]):
            spatial_g = feat.abs().sum(dim=0) / c
            channel_g = feat.abs().sum(dim=(1, 2)) / (h * w)
            spatial = h * w * torch.exp(spatial_g / temperature) \
                / torch.exp(spatial_g / temperature).sum()
            channel = c * torch.exp(channel_g / temperature) \
                / torch.exp(channel_g / temperature).sum()
            maps.append((spatial, channel))
        (spatial_t, channel_t), (spatial_s, channel_s) = maps
        total = total + (channel_t - channel_s).abs().sum() + (spatial_t - spatial_s).abs().sum()
    return total / n


def test_fgd_attention_loss_trains_the_student():
    """The attention loss pulls the student's own attention to the teacher's: its gradient
    w.r.t. the student's map is the autograd gradient of the formula above (nonzero), and the
    teacher gets none.

    Catches (mmkd/models/losses/fgd.py, ``focal_losses``):
    ``attention_maps(student.detach(), temperature)`` (the attention term then trains
    nothing), and likewise a detached ``spatial_s`` or ``channel_s``."""
    torch.manual_seed(0)
    student = torch.randn(2, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    teacher = (torch.randn(2, 3, 5, 4, dtype=torch.float64) * 2).requires_grad_()
    foreground, background = box_masks([torch.tensor([[0., 0., 8., 8.]])] * 2, 4, (5, 4))
    _, _, attention = focal_losses(student, teacher, foreground.double(),
                                   background.double(), 0.5)
    (grad,) = torch.autograd.grad(attention, student)
    reference = student.detach().clone().requires_grad_()
    (expected,) = torch.autograd.grad(
        attention_loss_by_the_paper(reference, teacher, 0.5), reference)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(grad, expected, rtol=1e-6, atol=1e-9)
    attention = focal_losses(student, teacher, foreground.double(), background.double(), 0.5)[2]
    attention.backward()
    assert teacher.grad is None


def test_fgd_distiller_attention_term_reaches_the_student():
    """Through the distiller (equal widths: no connector), the gradient of
    ``loss_fgd_attention`` w.r.t. each student level is loss_weight * gamma times the
    autograd gradient of the formula above on that level.

    Catches: the attention term computed on a detached student (``attention_maps(
    student.detach(), ...)`` in ``focal_losses``)."""
    torch.manual_seed(0)
    size = PROBE_SIZE
    student = tuple(torch.randn(2, 4, size // s, size // s, requires_grad=True) for s in (8, 16))
    teacher = tuple(torch.randn(2, 4, size // s, size // s) for s in (8, 16))
    boxes = [torch.tensor([[8., 8., 40., 24.]]), torch.tensor([[0., 16., 16., 64.]])]
    distiller = FGD(gamma=3.0, loss_weight=0.5)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    records = dict(feats=student, samples=dict(inputs=dict(batch_data_samples=det_samples(boxes))))
    loss = distiller(records, dict(feats=teacher))['loss_fgd_attention']
    grads = torch.autograd.grad(loss, student)
    for s, t, grad in zip(student, teacher, grads):
        reference = s.detach().double().requires_grad_()
        (expected,) = torch.autograd.grad(
            attention_loss_by_the_paper(reference, t.double(), 0.5), reference)
        assert expected.abs().sum() > 0
        torch.testing.assert_close(grad.double(), 0.5 * 3.0 * expected, rtol=1e-4, atol=1e-7)


def focal_by_the_paper(student, teacher, foreground, background, temperature):
    """Per image: sum_{c,h,w} M A^S_T A^C_T (T - S)^2 (foreground: M the scale mask; background:
    1/N_bg outside the boxes), and sum |A^C_T - A^C_S| + sum |A^S_T - A^S_S|; over images, the
    mean."""
    fg = bg = attention = 0.0
    n = student.shape[0]
    for i in range(n):
        spatial_t, channel_t = attention_by_the_paper(teacher[i], temperature)
        spatial_s, channel_s = attention_by_the_paper(student[i], temperature)
        for c in range(student.shape[1]):
            error = (teacher[i, c] - student[i, c]) ** 2 * spatial_t * channel_t[c]
            fg += (foreground[i] * error).sum()
            bg += (background[i] * error).sum()
        attention += np.abs(channel_t - channel_s).sum() + np.abs(spatial_t - spatial_s).sum()
    return fg / n, bg / n, attention / n


def test_fgd_focal_losses_are_the_papers():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8) * 2
    boxes = [torch.tensor([[4., 4., 12., 20.]]), torch.tensor([[0., 0., 32., 8.]])]
    foreground, background = box_masks(boxes, 4, (8, 8))
    got = focal_losses(student, teacher, foreground, background, 0.5)
    expected = focal_by_the_paper(student.double().numpy(), teacher.double().numpy(),
                                  foreground.double().numpy(), background.double().numpy(), 0.5)
    for value, reference in zip(got, expected):
        assert value.item() == pytest.approx(reference, rel=1e-5)


def gc_block_by_hand(block, feat):
    """R(F) = F + W2 ReLU(LN(W1 sum_j softmax_j(Wk F_j) F_j)) (GcBlock), feat (C, H, W)."""
    c, h, w = feat.shape
    flat = feat.reshape(c, -1)
    wk, bk = block.conv_mask.weight.detach().double().numpy().reshape(c), \
        block.conv_mask.bias.detach().double().numpy()
    context = flat @ softmax(wk @ flat + bk)                         # (C,)
    conv1, norm, _, conv2 = block.channel_add_conv
    hidden = conv1.weight.detach().double().numpy()[:, :, 0, 0] @ context \
        + conv1.bias.detach().double().numpy()
    hidden = (hidden - hidden.mean()) / np.sqrt(hidden.var() + norm.eps)
    hidden = hidden * norm.weight.detach().double().numpy().ravel() \
        + norm.bias.detach().double().numpy().ravel()
    added = conv2.weight.detach().double().numpy()[:, :, 0, 0] @ np.maximum(hidden, 0) \
        + conv2.bias.detach().double().numpy()
    return feat + added[:, None, None]


def det_samples(boxes):
    samples = []
    for image_boxes in boxes:
        sample = DetDataSample()
        sample.gt_instances = InstanceData(bboxes=image_boxes,
                                           labels=torch.zeros(len(image_boxes), dtype=torch.long))
        samples.append(sample)
    return samples


def test_fgd_distiller_is_the_papers_four_terms_on_the_shared_strides():
    """Strides 8 and 16 shared (the teacher's 4 left out), widths equal (no connector): each
    weighted term is the sum over the two levels of the formula above, and the global term
    the summed squared error between the two GcBlocks' outputs, per image."""
    torch.manual_seed(0)
    size = PROBE_SIZE     # the strides are read off maps of a probe image of this size
    student = tuple(torch.randn(2, 4, size // s, size // s) for s in (8, 16))
    teacher = tuple(torch.randn(2, 4, size // s, size // s) for s in (4, 8, 16))
    boxes = [torch.tensor([[8., 8., 40., 24.]]),
             torch.tensor([[0., 16., 16., 64.], [30., 30., 34., 34.]])]
    distiller = FGD(temperature=0.5, alpha=2.0, beta=3.0, gamma=5.0, lambda_=7.0, loss_weight=0.5)
    distiller.setup(dict(feats=student), dict(feats=teacher))
    for block in (*distiller.student_context, *distiller.teacher_context):   # not the zero init
        torch.nn.init.normal_(block.channel_add_conv[3].weight)
    records = dict(feats=student, samples=dict(inputs=dict(batch_data_samples=det_samples(boxes))))
    losses = distiller(records, dict(feats=teacher))

    expected = dict(fg=0.0, bg=0.0, attention=0.0, relation=0.0)
    for level, (stride, s, t) in enumerate(zip((8, 16), student, teacher[1:])):
        foreground = np.zeros((2, size // stride, size // stride))
        for i, image_boxes in enumerate(boxes):     # cells a box overlaps, 1 / their count
            for x1, y1, x2, y2 in image_boxes.tolist():
                cols = range(int(np.floor(x1 / stride)), int(np.ceil(x2 / stride)))
                rows = range(int(np.floor(y1 / stride)), int(np.ceil(y2 / stride)))
                for r in rows:
                    for c in cols:
                        foreground[i, r, c] = max(foreground[i, r, c],
                                                  1 / (len(rows) * len(cols)))
        background = np.stack([(m == 0) / (m == 0).sum() for m in foreground])
        fg, bg, attention = focal_by_the_paper(s.double().numpy(), t.double().numpy(),
                                               foreground, background, 0.5)
        expected['fg'] += fg
        expected['bg'] += bg
        expected['attention'] += attention
        for i in range(2):
            r_s = gc_block_by_hand(distiller.student_context[level], s[i].double().numpy())
            r_t = gc_block_by_hand(distiller.teacher_context[level], t[i].double().numpy())
            expected['relation'] += ((r_s - r_t) ** 2).sum() / 2
    assert losses['loss_fgd_fg'].item() == pytest.approx(0.5 * 2.0 * expected['fg'], rel=1e-5)
    assert losses['loss_fgd_bg'].item() == pytest.approx(0.5 * 3.0 * expected['bg'], rel=1e-5)
    assert losses['loss_fgd_attention'].item() == pytest.approx(
        0.5 * 5.0 * expected['attention'], rel=1e-5)
    assert losses['loss_fgd_global'].item() == pytest.approx(
        0.5 * 7.0 * expected['relation'], rel=1e-5)


@pytest.mark.parametrize('config, names', [
    ('mgd_frcnn.py', ['loss_mgd']),
    ('fgd_frcnn.py', ['loss_fgd_fg', 'loss_fgd_bg', 'loss_fgd_attention', 'loss_fgd_global']),
])
def test_shapes_configs_train_a_step(config, names, teacher_checkpoint):
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    losses = model.loss(inputs, samples)
    assert all(losses[name] > 0 for name in names)
    sum(losses[name] for name in names).backward()
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.distillers[0].parameters())
    # the authors' Faster R-CNN student configs: P2-P5, and their weights as written here
    assert [p.stride for p in model.distillers[0].pairs] == [4, 8, 16, 32]
    distiller = model.distillers[0]
    if isinstance(distiller, MGD):
        assert (distiller.drop_ratio, distiller.loss_weight) == (0.45, 5e-7)
    else:
        assert distiller.temperature == 0.5
        assert distiller.weights == {'fg': 5e-5, 'bg': 2.5e-5, 'attention': 5e-5,
                                     'global': 5e-7}
