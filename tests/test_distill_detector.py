import os
import pickle

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import InstanceData

from conftest import TEACHER_CONFIG, distill_model_config, model_config
from mmkd.models.distillers import BaseDistiller
from mmkd.registry import MODELS


def build(teacher_checkpoint, **overrides):
    return MODELS.build(distill_model_config(teacher_checkpoint, **overrides))


def fake_batch(batch=2, size=64):
    """Student-normalised inputs and data samples with two boxes per image."""
    torch.manual_seed(0)
    samples = []
    for _ in range(batch):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             pad_shape=(size, size), scale_factor=(1., 1.),
                                             batch_input_shape=(size, size)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 4., 30., 30.], [20., 24., 60., 50.]]),
            labels=torch.tensor([0, 5]))
        samples.append(sample)
    return torch.randn(batch, 3, size, size), samples


def teacher_state(model):
    return {k: v.clone() for k, v in model.teacher.detector.state_dict().items()}


def train_steps(model, steps=2):
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    model.train()
    inputs, samples = fake_batch()
    for _ in range(steps):
        losses = model.loss(inputs, samples)
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
    return optim, losses


def test_teacher_is_frozen_and_stays_out_of_optimizer_and_checkpoint(teacher_checkpoint):
    model = build(teacher_checkpoint)
    before = teacher_state(model)
    optim, losses = train_steps(model)

    assert 'loss_reviewkd' in losses and torch.isfinite(losses['loss_reviewkd'])
    assert not model.teacher.training                      # still eval after model.train()
    assert all(not p.requires_grad and p.grad is None for p in model.teacher.parameters())
    after = teacher_state(model)
    assert all(torch.equal(before[k], after[k]) for k in before)   # BN running stats included
    assert any('running_mean' in k for k in before)

    teacher_params = {id(p) for p in model.teacher.parameters()}
    optimised = [p for group in optim.optimizer.param_groups for p in group['params']]
    assert not teacher_params & {id(p) for p in optimised}
    abf_params = {id(p) for p in model.distillers.parameters()}
    assert abf_params <= {id(p) for p in optimised}          # connectors do train

    keys = model.state_dict().keys()
    assert not any(k.startswith('teacher') or '_frozen' in k for k in keys)
    assert any(k.startswith('distillers.0.abfs.') for k in keys)


def test_teacher_weights_come_from_its_checkpoint(teacher_checkpoint):
    model = build(teacher_checkpoint)
    model.init_weights()       # the runner calls this; it must not re-initialise the teacher
    saved = torch.load(teacher_checkpoint, weights_only=True)['state_dict']
    loaded = model.teacher.detector.state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


def test_predict_is_the_student_alone(teacher_checkpoint):
    model = build(teacher_checkpoint).eval()
    calls = []
    model.teacher.detector.register_forward_pre_hook(lambda *a: calls.append(1))
    model.teacher.detector.backbone.register_forward_pre_hook(lambda *a: calls.append(1))
    inputs, samples = fake_batch()
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2 and calls == []


def test_teacher_gets_its_own_normalisation(teacher_checkpoint, tmp_path):
    """A teacher that reads RGB with other mean/std gets what its own preprocessor would make."""
    teacher_cfg = model_config(TEACHER_CONFIG)
    teacher_cfg.data_preprocessor.update(mean=[0., 0., 0.], std=[255., 255., 255.],
                                         bgr_to_rgb=False)
    model = build(teacher_checkpoint, teacher=dict(config=teacher_cfg,
                                                   checkpoint=teacher_checkpoint))
    raw = torch.rand(1, 3, 32, 32) * 255                   # as loaded: BGR, 0..255
    student_in = model.data_preprocessor({'inputs': [raw[0].clone()]}, False)['inputs']
    teacher_own = model.teacher.detector.data_preprocessor({'inputs': [raw[0].clone()]},
                                                           False)['inputs']
    assert not model.teacher.input.identity
    assert torch.allclose(model.teacher.input(student_in), teacher_own, atol=1e-4)


@MODELS.register_module(force=True)
class NeckToHeadKD(BaseDistiller):
    """A user's own distiller, registered outside mmkd, that reads the teacher's RPN head."""

    def __init__(self, **kwargs):
        super().__init__(dict(feats='neck'), dict(rpn='rpn_head'), **kwargs)

    def loss(self, student_records, teacher_records):
        return dict(loss_user_kd=sum(f.mean() for f in student_records['feats']) * 0)


def test_user_distiller_and_tap_that_recorded_nothing(teacher_checkpoint):
    # The teacher runs backbone + neck only, so a tap on its RPN head records nothing: an
    # error in the step, not a silently missing loss.
    model = build(teacher_checkpoint, distillers=[dict(type='NeckToHeadKD')])
    inputs, samples = fake_batch()
    with pytest.raises(RuntimeError, match='Tap on teacher.rpn_head recorded nothing'):
        model.loss(inputs, samples)


def test_trusted_teacher_checkpoint_is_an_explicit_opt_in(teacher_checkpoint, tmp_path):
    import argparse
    checkpoint = torch.load(teacher_checkpoint, weights_only=True)
    checkpoint['meta'] = argparse.Namespace(note='not a plain type')
    path = tmp_path / 'namespace_meta.pth'
    torch.save(checkpoint, path)
    with pytest.raises(pickle.UnpicklingError, match='set trust_checkpoint=True next to '
                                                     'model.teacher.checkpoint'):
        build(str(path))
    with pytest.warns(UserWarning, match='runs whatever code the file names'):
        model = build(str(path), teacher=dict(config=TEACHER_CONFIG, checkpoint=str(path),
                                              trust_checkpoint=True))
    assert torch.equal(model.teacher.detector.state_dict()['backbone.conv1.weight'],
                       checkpoint['state_dict']['backbone.conv1.weight'])


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_malicious_teacher_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Payload(str(marker))}, evil)
    with pytest.raises(pickle.UnpicklingError, match='Refused to load .*trust_checkpoint=True'):
        build(str(evil))
    assert not marker.exists()


class AttributeOf:
    """Pickles as ``getattr(owner, name)``, as mmengine's HistoryBuffer pickles its methods."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def test_a_stock_mmengine_checkpoints_training_log_loads_as_inert_stand_ins(tmp_path):
    """The weights and plain metadata of a checkpoint holding mmengine's HistoryBuffer load
    with ``weights_only``; the buffers and the ``getattr`` they pickle through are stand-ins
    that build and look up nothing."""
    from collections import OrderedDict

    from mmengine.logging import MessageHub
    from mmkd.utils.checkpoint import SkippedTrainingState, read_checkpoint
    hub = MessageHub('stock')
    hub.update_scalar('train/loss', 1.5)
    path = tmp_path / 'stock.pth'
    torch.save({'state_dict': {'w': torch.arange(3.)}, 'meta': {'epoch': 4},
                'message_hub': hub.state_dict(),
                'looked_up': AttributeOf(OrderedDict, 'fromkeys')}, path)
    checkpoint = read_checkpoint(str(path))
    assert torch.equal(checkpoint['state_dict']['w'], torch.arange(3.))
    assert checkpoint['meta'] == {'epoch': 4}
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'],
                      SkippedTrainingState)
    assert checkpoint['looked_up'] is None       # the real getattr would give the method


def test_teacher_channels_last_and_fp16_switches(teacher_checkpoint):
    """channels_last puts teacher weights and inputs in that memory format; fp16 is a no-op on
    the CPU; neither changes the losses beyond float rounding."""
    plain = build(teacher_checkpoint)
    switched = build(teacher_checkpoint, teacher=dict(config=TEACHER_CONFIG,
                                                      checkpoint=teacher_checkpoint,
                                                      channels_last=True, fp16=True))
    switched.load_state_dict(plain.state_dict())
    weight = switched.teacher.detector.backbone.conv1.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.teacher.detector.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    seen = {}
    switched.teacher.detector.backbone.conv1.register_forward_hook(
        lambda module, args, out: seen.update(channels_last=args[0].is_contiguous(
            memory_format=torch.channels_last)))
    inputs, samples = fake_batch()
    torch.manual_seed(0)
    expected = plain.train().loss(inputs, samples)
    torch.manual_seed(0)
    losses = switched.train().loss(inputs, samples)
    assert seen['channels_last']
    assert losses['loss_reviewkd'].item() == pytest.approx(expected['loss_reviewkd'].item(),
                                                           rel=1e-4)


def mask_batch(size=64):
    """:func:`fake_batch` with a mask for each box."""
    from mmdet.structures.mask import BitmapMasks
    inputs, samples = fake_batch(size=size)
    for sample in samples:
        masks = torch.zeros(2, size, size, dtype=torch.uint8)
        masks[0, 4:30, 4:30] = 1
        masks[1, 24:50, 20:60] = 1
        sample.gt_instances.masks = BitmapMasks(masks.numpy(), size, size)
    return inputs, samples


def roi_kd_models(teacher_checkpoint, mask_teacher_checkpoint, **teacher_switches):
    """The hint config (RoIHeadKD) and the mask KD config (MaskHeadKD), teacher switches set."""
    from test_frcnn_kd import HINT_CONFIG
    from test_mask_kd import MASK_KD_CONFIG
    models = []
    for config, checkpoint in ((HINT_CONFIG, teacher_checkpoint),
                               (MASK_KD_CONFIG, mask_teacher_checkpoint)):
        cfg = Config.fromfile(config).model
        cfg.teacher.update(checkpoint=checkpoint, **teacher_switches)
        models.append(MODELS.build(cfg))
    return models


def test_channels_last_teacher_gives_the_same_roi_and_mask_kd_losses(teacher_checkpoint,
                                                                     mask_teacher_checkpoint):
    """mmcv's RoIAlign reads plain NCHW memory: a channels-last teacher's maps must reach it
    contiguous, or the teacher's RoI features (and the KD losses on them) are wrong."""
    plain = roi_kd_models(teacher_checkpoint, mask_teacher_checkpoint)
    switched = roi_kd_models(teacher_checkpoint, mask_teacher_checkpoint, channels_last=True)
    names = (['loss_rcnn_kd_cls', 'loss_rcnn_kd_reg'], ['loss_mask_kd'])
    for reference, model, loss_names in zip(plain, switched, names):
        model.load_state_dict(reference.state_dict())
        assert model.teacher.detector.backbone.conv1.weight.is_contiguous(
            memory_format=torch.channels_last)
        inputs, samples = mask_batch()
        torch.manual_seed(0)
        expected = reference.train().loss(inputs, samples)
        torch.manual_seed(0)
        losses = model.train().loss(inputs, samples)
        for name in loss_names:
            assert expected[name].item() > 0, name
            assert losses[name].item() == pytest.approx(expected[name].item(), rel=1e-5), name


def preprocessed_both_ways(model, sizes):
    """Random BGR 0..255 images of ``sizes`` (H, W) through the student's preprocessor (a dict
    with inputs and data samples) and through the teacher's own (its inputs)."""
    torch.manual_seed(0)
    images = [torch.rand(3, height, width) * 255 for height, width in sizes]
    samples = [DetDataSample(metainfo=dict(img_shape=size)) for size in sizes]
    student = model.data_preprocessor({'inputs': [i.clone() for i in images],
                                       'data_samples': samples}, False)
    teacher_own = model.teacher.detector.data_preprocessor(
        {'inputs': [i.clone() for i in images]}, False)['inputs']
    return student, teacher_own


TEACHER_PREPROCESSING = dict(
    caffe=dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    unit_range=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0], bgr_to_rgb=True))


@pytest.mark.parametrize('style', list(TEACHER_PREPROCESSING))
def test_teacher_input_is_what_its_own_preprocessor_makes(teacher_checkpoint, style):
    """A caffe-style teacher (BGR, std 1), or one that reads RGB in [0, 1], next to a
    pytorch-style student; two images of different sizes in one batch: the teacher's input
    equals what its own preprocessor makes of the same images, the padding included (mmdet
    pads with ``pad_value`` after normalising, so an adapted student padding is not the
    teacher's)."""
    teacher_cfg = model_config(TEACHER_CONFIG)
    teacher_cfg.data_preprocessor.update(pad_size_divisor=32, **TEACHER_PREPROCESSING[style])
    model = build(teacher_checkpoint, teacher=dict(config=teacher_cfg,
                                                   checkpoint=teacher_checkpoint))
    student, teacher_own = preprocessed_both_ways(model, sizes=((40, 64), (64, 48)))
    assert student['inputs'].shape == teacher_own.shape == (2, 3, 64, 64)
    adapted = model.teacher.input(student['inputs'], student['data_samples'])
    torch.testing.assert_close(adapted, teacher_own, atol=1e-4, rtol=1e-5)


def test_same_normalisation_but_another_pad_value_is_mapped_too(teacher_checkpoint):
    teacher_cfg = model_config(TEACHER_CONFIG)
    teacher_cfg.data_preprocessor.pad_value = 7
    model = build(teacher_checkpoint, teacher=dict(config=teacher_cfg,
                                                   checkpoint=teacher_checkpoint))
    inputs = torch.randn(1, 3, 8, 8)
    sample = DetDataSample(metainfo=dict(img_shape=(5, 6)))
    adapted = model.teacher.input(inputs, [sample])
    assert torch.equal(adapted[0, :, :5, :6], inputs[0, :, :5, :6])
    assert (adapted[0, :, 5:] == 7).all() and (adapted[0, :, :, 6:] == 7).all()
    assert not torch.equal(adapted, inputs)


MODEL_ZOO_TEACHER = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
MODEL_ZOO_STUDENT = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'


def zoo_reviewkd(tmp_path, teacher_config, student_config):
    """A DistillDetector of two mmdet configs (paths, ``mmdet::`` ones too) with ReviewKD from
    neck to neck, the teacher at random weights saved as its checkpoint."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmkd.models.teacher import load_model_config
    checkpoint = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=MMDET_MODELS.build(load_model_config(teacher_config))
                    .state_dict()), checkpoint)
    return MODELS.build(dict(
        type='mmkd.DistillDetector', student=student_config,
        teacher=dict(config=teacher_config, checkpoint=checkpoint),
        distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='neck')]))


def test_mmdet_model_zoo_configs_as_teacher_and_student(tmp_path):
    """mmdet 3.3's own config files, by ``mmdet::`` path, for both models; one step trains."""
    from mmkd.models.teacher import load_model_config
    model = zoo_reviewkd(tmp_path, MODEL_ZOO_TEACHER, MODEL_ZOO_STUDENT)
    assert type(model.teacher.detector.backbone).__name__ == 'ResNet'
    assert model.teacher.detector.backbone.depth == 50 and model.student.backbone.depth == 18
    assert model.teacher.detector.bbox_head.num_classes == 80
    inputs, samples = fake_batch()
    losses = model.train().loss(inputs, samples)
    losses['loss_reviewkd'].backward()
    assert losses['loss_reviewkd'].item() > 0
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    with pytest.raises(FileNotFoundError, match="model.teacher.config: 'mmdet::retinanet/"
                                                "no_such.py' is not a config"):
        load_model_config('mmdet::retinanet/no_such.py')


def test_unknown_teacher_key_is_named(teacher_checkpoint):
    with pytest.raises(KeyError, match=r"model.teacher has unknown keys \['channel_last'\]; it "
                                       r"takes \['channels_last', 'checkpoint', 'config', 'fp16', "
                                       r"'trust_checkpoint'\]"):
        build(teacher_checkpoint, teacher=dict(config=TEACHER_CONFIG,
                                               checkpoint=teacher_checkpoint, channel_last=True))


def test_two_stage_teacher_for_a_one_stage_student_pairs_levels_by_stride(tmp_path,
                                                                           monkeypatch):
    """mmdet 3.3's Faster R-CNN R50 (FPN strides 4-64) teaching its RetinaNet R18 (8-128), both
    by mmdet:: path: ReviewKD distils the shared strides 8-64, logs the pairing once, trains."""
    from mmkd.models.distillers import base
    logged = []
    monkeypatch.setattr(base, 'print_log', lambda message, **kwargs: logged.append(message))
    model = zoo_reviewkd(tmp_path, 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                         MODEL_ZOO_STUDENT)
    assert logged == ['ReviewKD: levels paired by stride: stride 8: student [0] 256 ch -> '
                      'teacher [1] 256 ch; stride 16: student [1] 256 ch -> teacher [2] 256 ch; '
                      'stride 32: student [2] 256 ch -> teacher [3] 256 ch; stride 64: student '
                      '[3] 256 ch -> teacher [4] 256 ch (ABF)']
    inputs, samples = fake_batch(size=128)
    losses = model.train().loss(inputs, samples)
    losses['loss_reviewkd'].backward()
    assert losses['loss_reviewkd'].item() > 0
    grads = [conv.conv.weight.grad for conv in model.student.neck.fpn_convs]
    assert all(grad.abs().sum() > 0 for grad in grads[:3])   # P3-P5 are distilled
    assert grads[4] is None or grads[4].abs().sum() == 0     # P7 (stride 128) is not


def test_teacher_input_padded_to_its_own_divisor(teacher_checkpoint):
    """A student that pads to 1 (RTMDet's default) next to a teacher that pads to 32: the
    teacher's input is what its own preprocessor makes of the same images, the extra padding
    (right and bottom, the teacher's pad_value) included; the student's input is untouched."""
    student_cfg = model_config(TEACHER_CONFIG)
    student_cfg.data_preprocessor.pad_size_divisor = 1
    teacher_cfg = model_config(TEACHER_CONFIG)
    teacher_cfg.data_preprocessor.update(pad_size_divisor=32, pad_value=3,
                                         **TEACHER_PREPROCESSING['unit_range'])
    model = build(teacher_checkpoint, student=student_cfg,
                  teacher=dict(config=teacher_cfg, checkpoint=teacher_checkpoint))
    student, teacher_own = preprocessed_both_ways(model, sizes=((40, 70), (50, 48)))
    assert student['inputs'].shape == (2, 3, 50, 70) and teacher_own.shape == (2, 3, 64, 96)
    adapted = model.teacher.input(student['inputs'], student['data_samples'])
    torch.testing.assert_close(adapted, teacher_own, atol=1e-4, rtol=1e-5)


def test_feature_maps_of_one_stride_are_cut_to_their_common_part():
    """Padding to 32 (teacher) and to 1 (student) gives maps of one stride that differ by the
    extra padding, right and bottom: both are compared on their common top-left part."""
    from mmkd.models.distillers import FeatureHint
    torch.manual_seed(0)
    probe = [torch.zeros(1, 4, 16, 16), torch.zeros(1, 4, 8, 8)]     # strides 8, 16
    hint = FeatureHint(loss_weight=1.0)
    hint.setup(dict(feats=probe), dict(feats=[p.new_zeros(1, 6, *p.shape[2:]) for p in probe]))
    student = (torch.randn(2, 4, 7, 9), torch.randn(2, 4, 4, 5))
    teacher = (torch.randn(2, 6, 8, 12), torch.randn(2, 6, 4, 6))
    loss = hint(dict(feats=student), dict(feats=teacher))['loss_hint']
    expected = torch.stack([
        ((torch.nn.functional.conv2d(s, a[0].weight, a[0].bias) - t[..., :s.shape[2], :s.shape[3]])
         ** 2).mean() for a, s, t in zip(hint.adapters, student, teacher)]).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_one_stage_teacher_for_an_rtmdet_student(tmp_path):
    """mmdet 3.3's RetinaNet R50 (5 levels, strides 8-128, pads to 32) teaching its RTMDet-tiny
    (3 levels, 8-32, pads to 1, other normalisation), both by mmdet:: path: ReviewKD pairs
    strides 8, 16, 32 (its neck has 3 levels, RetinaNet's 5) and a step trains."""
    model = zoo_reviewkd(tmp_path, MODEL_ZOO_TEACHER,
                         'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py')
    assert [(p.stride, p.student, p.teacher) for p in model.distillers[0].pairs] == \
        [(8, 0, 0), (16, 1, 1), (32, 2, 2)]
    assert model.teacher.input.pad_size_divisor == 32 and not model.teacher.input.identity
    inputs, samples = fake_batch(size=96)
    losses = model.train().loss(inputs, samples)
    losses['loss_reviewkd'].backward()
    assert losses['loss_reviewkd'].item() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.distillers[0].abfs.parameters() if p.dim() == 4)


def model_zoo_style_checkpoint(config_file, path):
    """A checkpoint as mmdet's model zoo writes them: state_dict plus meta with plain and
    numpy values."""
    import numpy as np
    from mmdet.registry import MODELS as MMDET_MODELS
    state_dict = MMDET_MODELS.build(model_config(config_file)).state_dict()
    meta = dict(epoch=12, iter=np.int64(7330), mmdet_version='3.3.0', lr=np.float64(0.02),
                dataset_meta=dict(classes=('a', 'b'), palette=[(220, 20, 60), (119, 11, 32)]),
                loss_history=np.array([1.5, 0.75], dtype=np.float32))
    torch.save(dict(state_dict=state_dict, meta=meta), path)
    return state_dict


def test_teacher_checkpoint_by_url_from_the_hub_cache_or_named_offline(tmp_path, monkeypatch):
    """checkpoint=URL: read from torch's hub cache (<hub>/checkpoints/<name>, mmengine's place)
    with weights_only on (model-zoo numpy metadata allowed); not there and no network: the error
    names the URL and the path to put the file at."""
    import urllib.error
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    url = 'https://download.example.org/mmdet/frcnn_r18w32_shapes_20261126-0123abcd.pth'
    cached = tmp_path / 'hub' / 'checkpoints' / 'frcnn_r18w32_shapes_20261126-0123abcd.pth'

    def offline(*args, **kwargs):
        raise urllib.error.URLError('Temporary failure in name resolution')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(FileNotFoundError, match=rf'model.teacher.checkpoint: could not download '
                                                 rf'{url} \(.*name resolution.*\); without a '
                                                 rf'network, put the file at {cached}'):
        build(url)

    cached.parent.mkdir(parents=True, exist_ok=True)   # the failed download made it
    saved = model_zoo_style_checkpoint(TEACHER_CONFIG, str(cached))
    model = build(url)
    loaded = model.teacher.detector.state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


ZOO = 'mmdet::'
MODEL_ZOO_PAIRS = {   # teacher, student, strides the two necks share
    'faster_rcnn_r50-r18': (f'{ZOO}faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                            f'{ZOO}faster_rcnn/faster-rcnn_r18_fpn_8xb8-amp-lsj-200e_coco.py',
                            [4, 8, 16, 32, 64]),
    'mask_rcnn_r50-r18': (f'{ZOO}mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                          f'{ZOO}mask_rcnn/mask-rcnn_r18_fpn_8xb8-amp-lsj-200e_coco.py',
                          [4, 8, 16, 32, 64]),
    'rtmdet_s-tiny': (f'{ZOO}rtmdet/rtmdet_s_8xb32-300e_coco.py',
                      f'{ZOO}rtmdet/rtmdet_tiny_8xb32-300e_coco.py', [8, 16, 32]),
    'caffe_faster_rcnn-retinanet': (f'{ZOO}faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py',
                                    MODEL_ZOO_STUDENT, [8, 16, 32, 64]),
    'dino-retinanet': (f'{ZOO}dino/dino-4scale_r50_8xb2-12e_coco.py', MODEL_ZOO_STUDENT,
                       [8, 16, 32, 64]),
    'deformable_detr-rtmdet': (f'{ZOO}deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
                               f'{ZOO}rtmdet/rtmdet_tiny_8xb32-300e_coco.py', [8, 16, 32]),
    'dino-faster_rcnn': (f'{ZOO}dino/dino-4scale_r50_8xb2-12e_coco.py',
                         f'{ZOO}faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', [8, 16, 32, 64]),
}


@pytest.mark.parametrize('pair', list(MODEL_ZOO_PAIRS))
def test_model_zoo_pairs_distil_their_shared_strides(tmp_path, pair):
    """mmdet 3.3's own configs by mmdet:: path, teacher at random weights: two-stage, one-stage,
    RTMDet, Mask R-CNN, a caffe-style teacher next to pytorch-style students, DINO and
    Deformable DETR (ChannelMapper necks, 4 levels) teaching CNN students. ReviewKD pairs the
    shared strides; a DETR teacher runs backbone and neck only (never its transformer); a step
    trains the student's neck."""
    teacher_config, student_config, strides = MODEL_ZOO_PAIRS[pair]
    model = zoo_reviewkd(tmp_path, teacher_config, student_config)
    assert [pair.stride for pair in model.distillers[0].pairs] == strides
    transformer_calls = []
    if hasattr(model.teacher.detector, 'encoder'):
        model.teacher.detector.encoder.register_forward_hook(
            lambda *args: transformer_calls.append(1))
    inputs, samples = (mask_batch if pair.startswith('mask') else fake_batch)(size=128)
    losses = model.train().loss(inputs, samples)
    losses['loss_reviewkd'].backward()
    assert losses['loss_reviewkd'].item() > 0 and not transformer_calls
    neck_grads = [p.grad for p in model.student.neck.parameters() if p.dim() == 4]
    assert any(grad is not None and grad.abs().sum() > 0 for grad in neck_grads)
