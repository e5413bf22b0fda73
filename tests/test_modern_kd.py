"""CWD and PKD: their losses against the papers' formulas written out here, and the distillers
on the shapes pair."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS
from mmkd.models.distillers import CWD, PKD
from mmkd.models.losses import channel_wise_divergence, pearson_distance
from mmkd.registry import MODELS
from test_distill_detector import fake_batch


def cwd_by_the_paper(student, teacher, tau):
    """tau^2 / (N C) sum_{n,c} sum_i p_t,i log(p_t,i / p_s,i), p = softmax over positions."""
    s, t = student.double().numpy(), teacher.double().numpy()
    n, c = s.shape[:2]
    total = 0.0
    for i in range(n):
        for j in range(c):
            ps = np.exp(s[i, j].ravel() / tau)
            ps /= ps.sum()
            pt = np.exp(t[i, j].ravel() / tau)
            pt /= pt.sum()
            total += float((pt * np.log(pt / ps)).sum())
    return tau ** 2 * total / (n * c)


def test_cwd_of_a_known_pair_of_maps():
    # one channel, two places: teacher (1/4, 3/4), student (1/2, 1/2)
    teacher = torch.tensor([0.0, math.log(3.0)]).reshape(1, 1, 1, 2)
    student = torch.zeros(1, 1, 1, 2)
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert channel_wise_divergence(student, teacher).item() == pytest.approx(expected, rel=1e-6)
    # tau 2 on maps twice as large: the same distributions, times tau^2
    assert channel_wise_divergence(student * 2, teacher * 2, tau=2.0).item() == pytest.approx(
        4 * expected, rel=1e-6)
    assert channel_wise_divergence(teacher, teacher).item() == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_cwd_is_the_papers_formula_on_random_maps(tau):
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 5) * 2, torch.randn(2, 3, 4, 5) * 2
    assert channel_wise_divergence(student, teacher, tau).item() == pytest.approx(
        cwd_by_the_paper(student, teacher, tau), rel=1e-5)


def test_pkd_is_one_minus_the_pearson_correlation_per_channel():
    """Half the MSE of per-channel standardised maps = (M-1)/M * mean_c (1 - r_c), r_c the
    Pearson correlation of channel c over the M = N*H*W values (sample std in the
    standardisation)."""
    torch.manual_seed(0)
    teacher = torch.randn(2, 3, 4, 5)
    student = 0.5 * teacher + torch.randn(2, 3, 4, 5)       # correlated, not equal
    s = student.double().transpose(0, 1).reshape(3, -1).numpy()
    t = teacher.double().transpose(0, 1).reshape(3, -1).numpy()
    m = s.shape[1]
    r = np.array([np.corrcoef(s[c], t[c])[0, 1] for c in range(3)])
    expected = (m - 1) / m * float((1 - r).mean())
    assert pearson_distance(student, teacher).item() == pytest.approx(expected, rel=1e-4)
    # scale and shift of either map change nothing; the teacher gets no gradient
    teacher.requires_grad_()
    assert pearson_distance(3 * student + 1, teacher * 100 - 5).item() == pytest.approx(
        expected, rel=1e-4)
    pearson_distance(student.requires_grad_(), teacher).backward()
    assert teacher.grad is None and student.grad is not None


def pyramids(widths=(8, 8), student_strides=(8, 16, 32, 64), teacher_strides=(4, 8, 16, 32, 64)):
    torch.manual_seed(1)
    size = 128
    student = tuple(torch.randn(2, widths[0], size // s, size // s) for s in student_strides)
    teacher = tuple(torch.randn(2, widths[1], size // s, size // s) for s in teacher_strides)
    return student, teacher


@pytest.mark.parametrize('distiller, formula', [
    (CWD(tau=2.0, loss_weight=3.0), lambda s, t: cwd_by_the_paper(s, t, 2.0)),
    (PKD(loss_weight=3.0), None),
])
def test_level_distillers_sum_the_shared_strides(distiller, formula):
    """Same widths: no connector, so the loss is the weighted sum of the formula over the four
    strides both pyramids have (8-64), the teacher's stride 4 left out."""
    student, teacher = pyramids()
    distiller.setup(dict(feats=student), dict(feats=teacher))
    assert [p.stride for p in distiller.pairs] == [8, 16, 32, 64]
    assert sum(p.numel() for p in distiller.parameters()) == 0
    loss = distiller(dict(feats=student), dict(feats=teacher))
    name = 'loss_cwd' if isinstance(distiller, CWD) else 'loss_pkd'
    if formula is None:     # PKD: (M-1)/M mean_c (1 - r_c) per level
        def formula(s, t):
            s = s.double().transpose(0, 1).reshape(s.shape[1], -1).numpy()
            t = t.double().transpose(0, 1).reshape(t.shape[1], -1).numpy()
            r = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(s, t)])
            return (s.shape[1] - 1) / s.shape[1] * float((1 - r).mean())
    expected = 3.0 * sum(formula(student[i], teacher[i + 1]) for i in range(4))
    assert loss[name].item() == pytest.approx(expected, rel=1e-4)


def test_different_widths_get_a_connector_with_a_gradient():
    student, teacher = pyramids(widths=(8, 16))
    distiller = PKD()
    distiller.setup(dict(feats=student), dict(feats=teacher))
    assert sum(p.numel() for p in distiller.parameters()) == 4 * (8 * 16 + 16)
    student = tuple(s.requires_grad_() for s in student)
    distiller(dict(feats=student), dict(feats=teacher))['loss_pkd'].backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in student)
    assert all(p.grad is not None for p in distiller.parameters())


@pytest.mark.parametrize('config, strides', [
    ('cwd_frcnn.py', [4, 8, 16, 32, 64]), ('pkd_frcnn.py', [4, 8, 16, 32, 64]),
    ('pkd_p2_p5_frcnn.py', [4, 8, 16, 32])])
def test_shapes_configs_train_a_step(config, strides, teacher_checkpoint):
    """Each config distils the FPN levels it says: MMRazor's PKD levels 0-3 (P2-P5) for
    ``pkd_p2_p5_frcnn.py``, P6 (stride 64) as well for the others."""
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    losses = model.loss(inputs, samples)
    name = 'loss_cwd' if config.startswith('cwd') else 'loss_pkd'
    assert torch.isfinite(losses[name]) and losses[name] > 0
    losses[name].backward()
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert [p.stride for p in model.distillers[0].pairs] == strides


def test_every_pkd_config_names_the_levels_it_distils():
    """PKD's default (every shared stride) is not MMRazor's four Faster R-CNN levels, so each
    shipped PKD config writes its strides out and its comment names the levels: P2-P5
    (MMRazor's) or P2-P6 (P6 added), never silently; a DETR neck's four levels are strides 8-64.
    (Read as text: no config inherits its PKD entry from a base.)"""
    import glob
    import re
    found = 0
    for path in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True):
        text = open(path).read()
        if 'gfl' in osp.basename(path):
            continue
        for entry in re.findall(r"dict\(type='mmkd\.PKD'[^)]*\)", text):
            strides = re.search(r'strides=\[([0-9, ]+)\]', entry)
            assert strides, f'{path}: {entry}'
            strides = [int(s) for s in strides.group(1).split(',')]
            levels = {(4, 8, 16, 32): 'P2-P5', (4, 8, 16, 32, 64): 'P2-P6',
                      (8, 16, 32, 64): 'strides 8-64'}.get(tuple(strides))
            assert levels, f'{path}: strides {strides}'
            assert levels in text, f'{path}: strides {strides}, comment lacks {levels}'
            found += 1
    assert found >= 18
