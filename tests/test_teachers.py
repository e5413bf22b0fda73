"""Several teachers (``model.teachers``): each distiller reads the one it names or their
average, checked against each teacher run on its own."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import (CONFIGS, STUDENT_CONFIG, TEACHER_CONFIG, model_config,
                      save_fresh_checkpoint)
from mmkd.apis.inspect import pairing_table
from mmkd.models import DistillDetector
from mmkd.registry import MODELS
from mmkd.models.distillers import DenseLogitKD
from test_distill_detector import fake_batch

PKD = dict(type='mmkd.PKD', student='neck', teacher='neck')
CWD = dict(type='mmkd.CWD', student='neck', teacher='neck')


@pytest.fixture(scope='module')
def two_teachers(tmp_path_factory):
    """Two shapes teachers of one architecture and different weights."""
    folder = tmp_path_factory.mktemp('teachers')
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(save_fresh_checkpoint(TEACHER_CONFIG, str(folder / f't{seed}.pth')))
    return [dict(config=TEACHER_CONFIG, checkpoint=path) for path in paths]


def build(teachers, *distillers, **kwargs):
    return DistillDetector(student=model_config(STUDENT_CONFIG), teachers=teachers,
                           distillers=list(distillers), **kwargs)


def neck_of(teacher, inputs):
    with torch.no_grad():
        return teacher.detector.extract_feat(inputs)


def test_mean_reads_the_average_of_the_teachers_maps_and_an_index_one_teacher(two_teachers):
    model = build(two_teachers, dict(PKD, read_teacher='mean'),
                  dict(CWD, read_teacher=1))
    assert len(model.teachers) == 2
    assert not any(key.startswith('teacher') for key in model.state_dict())
    inputs, samples = fake_batch(size=128)
    step = model.distill_step(inputs, samples)
    first, second = (neck_of(teacher, inputs) for teacher in model.teachers)
    assert not torch.allclose(first[0], second[0])
    for level, (a, b) in enumerate(zip(first, second)):
        assert torch.allclose(step.teacher_records[0]['feats'][level], (a + b) / 2, atol=1e-6)
        assert torch.allclose(step.teacher_records[1]['feats'][level], b, atol=1e-6)


def test_an_index_reads_that_teacher_as_a_single_teacher_model_does(two_teachers):
    """read_teacher=1 of two gives the loss a model with that teacher alone gives."""
    inputs, samples = fake_batch(size=128)
    pair = build(two_teachers, dict(CWD, read_teacher=0), dict(PKD, read_teacher=1))
    alone = DistillDetector(student=model_config(STUDENT_CONFIG), teacher=two_teachers[1],
                            distillers=[CWD, PKD])
    alone.load_state_dict(pair.state_dict())
    with torch.no_grad():
        assert pair.loss(inputs, samples)['teacher1.loss_pkd'].item() == pytest.approx(
            alone.loss(inputs, samples)['loss_pkd'].item(), rel=1e-6)


def test_a_distiller_per_teacher_logs_each_under_its_teacher(two_teachers):
    """configs/pkd_each_teacher_frcnn.py: PKD from teacher 0 and from teacher 1, each the loss
    a model with that teacher alone gives, at half the weight; the mean is not named."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'pkd_each_teacher_frcnn.py')).model
    for teacher, fresh in zip(cfg.teachers, two_teachers):
        teacher.checkpoint = fresh['checkpoint']
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        for index, teacher in enumerate(two_teachers):
            alone = DistillDetector(student=model_config(STUDENT_CONFIG), teacher=teacher,
                                    distillers=[dict(PKD, loss_weight=3.0)])
            state = {key.replace(f'distillers.{index}.', 'distillers.0.'): value
                     for key, value in model.state_dict().items()
                     if not key.startswith('distillers.') or
                     key.startswith(f'distillers.{index}.')}
            alone.load_state_dict(state)
            assert losses[f'teacher{index}.loss_pkd'].item() == pytest.approx(
                alone.loss(inputs, samples)['loss_pkd'].item(), rel=1e-6)
    assert losses['teacher0.loss_pkd'].item() != pytest.approx(losses['teacher1.loss_pkd'].item())
    assert 'loss_pkd' not in losses
    mean = build(two_teachers, dict(PKD, read_teacher='mean'))
    assert 'loss_pkd' in mean.loss(inputs, samples)
    assert pairing_table(mean).rows[0][2] == 'the mean of the teachers: neck'


@pytest.mark.parametrize('sigmoid', [True, False])
def test_logit_kd_averages_the_teachers_probabilities(sigmoid):
    """MEAL V2: the ensemble's per-prior class probabilities are the mean of the teachers';
    the merged logits give them back (softmax over a prior's classes, or sigmoid)."""
    torch.manual_seed(0)
    classes = 3 if sigmoid else 4
    distiller = DenseLogitKD()
    distiller.sigmoid, distiller.classes = sigmoid, classes
    teachers = [dict(maps=[torch.randn(2, 2 * classes, h, h) * 3 for h in (4, 2)])
                for _ in range(3)]
    merged = distiller.merge_teachers(teachers)['maps']
    for level, maps in enumerate(merged):
        for n, y, x, prior in np.ndindex(2, maps.shape[2], maps.shape[3], 2):
            rows = slice(prior * classes, (prior + 1) * classes)
            logits = [t['maps'][level][n, rows, y, x].double().numpy() for t in teachers]
            if sigmoid:
                expected = np.mean([1 / (1 + np.exp(-z)) for z in logits], axis=0)
                got = 1 / (1 + np.exp(-maps[n, rows, y, x].double().numpy()))
            else:
                expected = np.mean([np.exp(z) / np.exp(z).sum() for z in logits], axis=0)
                z = maps[n, rows, y, x].double().numpy()
                got = np.exp(z) / np.exp(z).sum()
            assert got == pytest.approx(expected, abs=1e-5)


def test_teacher_settings_that_cannot_work_are_refused_by_their_config_key(two_teachers,
                                                                           tmp_path):
    with pytest.raises(ValueError, match='either teacher .* not both'):
        build(two_teachers, PKD, teacher=two_teachers[0])
    with pytest.raises(ValueError, match=r'model.teachers\[1\] are read by no distiller'):
        build(two_teachers, PKD)
    with pytest.raises(ValueError, match=r"model.distillers\[0\] \(mmkd.PKD\): read_teacher=2"):
        build(two_teachers, dict(PKD, read_teacher=2))
    with pytest.raises(ValueError, match=r"RoIHeadKD does not average teachers"):
        build(two_teachers, dict(type='mmkd.RoIHeadKD', read_teacher='mean'))
    with pytest.raises(ValueError, match=r"model.teachers\[1\].checkpoint is not set"):
        build([two_teachers[0], dict(config=TEACHER_CONFIG, checkpoint='')], PKD)
    narrow = dict(config=STUDENT_CONFIG,
                  checkpoint=save_fresh_checkpoint(STUDENT_CONFIG, str(tmp_path / 's.pth')))
    with pytest.raises(ValueError, match=r"model.distillers\[0\].*differ in shape"):
        build([two_teachers[0], narrow], dict(PKD, read_teacher='mean'))


def test_two_teacher_config_trains_a_step(two_teachers):
    cfg = Config.fromfile(osp.join(CONFIGS, 'pkd_two_teachers_frcnn.py')).model
    assert cfg.teacher is None and len(cfg.teachers) == 2
    for teacher, fresh in zip(cfg.teachers, two_teachers):
        teacher.checkpoint = fresh['checkpoint']
    model = MODELS.build(cfg)
    inputs, samples = fake_batch(size=128)
    losses = model.loss(inputs, samples)
    losses['loss_pkd'].backward()
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert model.teachers_read == [[0, 1]]


def test_init_weights_reaches_a_distillers_init_cfg(two_teachers):
    """A distiller's own init_cfg (its connectors, say) is applied by the runner's
    init_weights, as any mmengine module's."""
    model = build(two_teachers[:1], dict(PKD, init_cfg=dict(type='Constant', layer='Conv2d',
                                                           val=0.5)))
    adapter = model.distillers[0].adapters[0][0]
    assert not torch.all(adapter.weight == 0.5)
    model.init_weights()
    assert torch.all(adapter.weight == 0.5)
