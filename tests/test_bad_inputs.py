"""The catalogue of bad inputs: each builds (and where needed steps) a mistake a user makes and
asserts that the error names the config key to fix, or that training goes on where it must."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from conftest import (REVIEWKD_CONFIG, ROOT, STUDENT_CONFIG, TEACHER_CONFIG, distill_model_config,
                      model_config, save_fresh_checkpoint)
from mmkd.registry import MODELS
from mmkd.utils import check_dataset_files
from test_cls_map_kd import (build_clskd, detector_cls_maps, face_batch, reference_on_maps,
                             spread_teacher_scores)
from test_distill_detector import fake_batch
from test_frcnn_kd import build_hint
from test_hcl_abf import paper_reviewkd_loss


def build(teacher_checkpoint, **overrides):
    return MODELS.build(distill_model_config(teacher_checkpoint, **overrides))


# --- the model config ----------------------------------------------------------------------------

def test_unknown_distiller_type_suggests_the_registered_one(teacher_checkpoint):
    with pytest.raises(KeyError, match=r"model\.distillers\[0\] \(ReviewKDD\): type='ReviewKDD' is "
                                       r"not a registered distiller; did you mean \['ReviewKD'\]"):
        build(teacher_checkpoint,
              distillers=[dict(type='ReviewKDD', student='neck', teacher='neck')])


def test_tap_path_not_in_the_model_lists_nearest_names(teacher_checkpoint):
    with pytest.raises(KeyError, match=r"model\.distillers\[0\] \(mmkd.ReviewKD\): student "
                                       r"\(FasterRCNN\) has no module 'nek'.*'neck'"):
        build(teacher_checkpoint,
              distillers=[dict(type='mmkd.ReviewKD', student='nek', teacher='neck')])
    with pytest.raises(KeyError, match=r"teacher \(FasterRCNN\) has no module 'backbone.layer9'"
                                       r".*backbone\.layer"):
        build(teacher_checkpoint,
              distillers=[dict(type='mmkd.ReviewKD', student='neck', teacher='backbone.layer9')])


def test_no_distillers(teacher_checkpoint):
    with pytest.raises(ValueError, match='model.distillers is empty'):
        build(teacher_checkpoint, distillers=[])


def test_teacher_without_checkpoint_key():
    cfg = distill_model_config('')
    cfg.teacher = dict(config=TEACHER_CONFIG)
    with pytest.raises(KeyError, match=r"model.teacher needs keys \['checkpoint'\]"):
        MODELS.build(cfg)


def test_teacher_checkpoint_missing_or_unset(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.teacher.checkpoint: no checkpoint file at'):
        build(str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match='model.teacher.checkpoint is not set'):
        build('')


def test_teacher_config_missing(teacher_checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match='model.teacher.config: no config file at'):
        build(teacher_checkpoint, teacher=dict(config=str(tmp_path / 'nope.py')))


def test_teacher_checkpoint_of_another_architecture_names_keys(tmp_path):
    wrong = save_fresh_checkpoint(STUDENT_CONFIG, str(tmp_path / 'student.pth'))
    with pytest.raises(RuntimeError, match='(?s)model.teacher.checkpoint: .* does not fit the '
                                           'model.*size mismatch for backbone'):
        build(wrong)


def test_different_class_counts_for_logit_kd(teacher_checkpoint, tmp_path):
    teacher = model_config(TEACHER_CONFIG)
    teacher.roi_head.bbox_head.num_classes = 5
    path = tmp_path / 'teacher5.py'
    Config(dict(model=teacher)).dump(str(path))
    checkpoint = save_fresh_checkpoint(str(path), str(tmp_path / 't5.pth'))
    with pytest.raises(ValueError, match=r'model\.distillers\[2\] \(mmkd.RoIHeadKD\): .*'
                                         'roi_head.bbox_head.num_classes is 8 in the student, '
                                         '5 in the teacher'):
        build_hint(checkpoint, teacher=str(path))


def test_anchor_layouts_differ_for_dense_kd(teacher_checkpoint, tmp_path):
    teacher = model_config(TEACHER_CONFIG)
    teacher.rpn_head.anchor_generator.scales = [8]
    with pytest.raises(ValueError, match=r'\(mmkd.RPNKD\): rpn_head.anchor_generator.scales '
                                         r'differs: student \[4.0\] vs teacher \[8.0\]; .*set '
                                         r'model.student.rpn_head.anchor_generator'):
        build_hint(teacher_checkpoint, teacher=teacher)

    def other_ratios(face_teacher):
        face_teacher.bbox_head.anchor_generator.ratios = [0.5, 1.0, 2.0]

    with pytest.raises(ValueError, match=r'\(mmkd.ClsMapKD\): bbox_head.anchor_generator.ratios '
                                         r'differs: student \[1.25\] vs teacher \[0.5, 1.0, 2.0\]'):
        build_clskd(tmp_path, teacher_update=other_ratios)


def test_head_methods_on_a_pair_without_the_head_name_it(teacher_checkpoint, tmp_path):
    """A one-stage teacher for Chen et al.'s RPN KD, a two-stage one for ClsMapKD: the build
    names the distiller, the head it reads and the kind of model that lacks it."""
    from test_cls_map_kd import FACE_TEACHER
    face_teacher = save_fresh_checkpoint(FACE_TEACHER, str(tmp_path / 'face.pth'))
    with pytest.raises(KeyError, match=r"model\.distillers\[1\] \(mmkd.RPNKD\): RPNKD reads "
                                       r"rpn_head in both models, but the teacher \(RetinaNet\) "
                                       r"has no module 'rpn_head'"):
        build_hint(face_teacher, teacher=FACE_TEACHER)
    model_cfg = Config.fromfile(osp.join(ROOT, 'configs', 'clskd_retinanet_face.py')).model
    model_cfg.teacher = dict(config=TEACHER_CONFIG, checkpoint=teacher_checkpoint)
    with pytest.raises(KeyError, match=r"model\.distillers\[0\] \(mmkd.ClsMapKD\): ClsMapKD "
                                       r"reads bbox_head in both models, but the teacher "
                                       r"\(FasterRCNN\) has no module 'bbox_head'"):
        MODELS.build(model_cfg)


def test_feature_levels_without_a_shared_stride(teacher_checkpoint):
    with pytest.raises(ValueError, match=r"model\.distillers\[0\] \(mmkd.ReviewKD\): ReviewKD: "
                                         r"strides=\[128\] asks for \[128\], which the two models "
                                         r"do not share \(shared: \[4, 8, 16, 32, 64\]"):
        build(teacher_checkpoint, distillers=[dict(type='mmkd.ReviewKD', strides=[128])])


def test_unknown_option_values_name_their_key(teacher_checkpoint):
    with pytest.raises(ValueError, match=r"model.nonfinite_loss='ignore': choose from"):
        build(teacher_checkpoint, nonfinite_loss='ignore')
    with pytest.raises(ValueError, match=r"optim_wrapper.dtype='int8'"):
        build_optim_wrapper(torch.nn.Linear(1, 1), dict(
            type='mmkd.AutocastOptimWrapper', dtype='int8', optimizer=dict(type='SGD', lr=0.1)))


# --- training steps ------------------------------------------------------------------------------

def without_gt(samples):
    for sample in samples:
        sample.gt_instances = sample.gt_instances[:0]
    return samples


def step(model, inputs, samples, optim_wrapper=None):
    optim_wrapper = optim_wrapper or build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)))
    model.train()
    loss, logs = model.parse_losses(model.loss(inputs, samples))
    optim_wrapper.update_params(loss)
    return loss, logs


def no_gt_expectations(method, model, inputs, samples):
    """What each method's distill losses must be on a batch without boxes, computed from the
    two models' own forwards before anything trains: {loss name: value}, a value ``None`` for a
    term that must be > 0 but has no independent value here (random RoI sampling)."""
    teacher = model.teacher.detector
    with torch.no_grad():
        student_feats = model.student.extract_feat(inputs)
        teacher_feats = teacher.extract_feat(model.teacher.input(inputs, samples))
        if method == 'reviewkd':     # features only: the paper's ABF chain and HCL
            weight = Config.fromfile(REVIEWKD_CONFIG).model.distillers[0].loss_weight
            return dict(loss_reviewkd=paper_reviewkd_loss(model.distillers[0].abfs,
                                                          student_feats, teacher_feats, weight))
        if method == 'hint':
            # gamma * mean over levels of MSE(conv1x1(V), Z); the soft labels still apply to the
            # sampled (all negative) anchors and RoIs; no positive, so no regression term.
            hint = torch.stack([
                F.mse_loss(F.conv2d(s, adapter[0].weight, adapter[0].bias), t)
                for adapter, s, t in zip(model.distillers[0].adapters, student_feats,
                                         teacher_feats)]).mean()
            return dict(loss_hint=0.5 * hint, loss_rpn_kd_cls=None, loss_rcnn_kd_cls=None,
                        loss_rpn_kd_reg=0.0, loss_rcnn_kd_reg=0.0)
    student_maps, teacher_maps = detector_cls_maps(model, inputs, samples)
    expected, _ = reference_on_maps(student_maps, teacher_maps,
                                    model.student.bbox_head.num_base_priors, True, 'seed')
    return dict(loss_cls_map_kd=expected)     # the rule never reads boxes


@pytest.mark.parametrize('method', ['reviewkd', 'hint', 'clskd'])
def test_a_batch_without_gt_boxes_trains(method, teacher_checkpoint, tmp_path):
    torch.manual_seed(0)         # the students' (and fresh teachers') initial weights
    if method == 'clskd':
        model, (inputs, samples) = build_clskd(tmp_path), face_batch()
        spread_teacher_scores(model.teacher.detector)
    else:
        model = build(teacher_checkpoint) if method == 'reviewkd' else build_hint(teacher_checkpoint)
        inputs, samples = fake_batch()
    samples = without_gt(samples)
    model.train()
    expected = no_gt_expectations(method, model, inputs, samples)

    losses = model.loss(inputs, samples)
    for name, value in expected.items():
        if value is None:
            assert losses[name].item() > 0, name
        elif float(value) == 0:
            assert losses[name].item() == 0, name
        else:
            assert float(value) > 0
            assert losses[name].item() == pytest.approx(float(value), rel=1e-4), name
    distill = sum(losses[name] for name in expected)
    distill.backward()               # the distill losses alone reach the student, not the teacher
    neck_grad = model.student.neck.fpn_convs[0].conv.weight.grad
    assert neck_grad is not None and neck_grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    model.zero_grad()

    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    step(model, inputs, samples)
    changed = [k for k, v in model.student.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, 'the step moved nothing'


def poison(model, loss_name):
    """Make the distiller's loss ``loss_name`` NaN from now on."""
    forward = model.distillers[0].forward

    def nan_forward(*args, **kwargs):
        losses = forward(*args, **kwargs)
        losses[loss_name] = losses[loss_name] * float('nan')
        return losses

    model.distillers[0].forward = nan_forward
    return model


def test_nonfinite_distill_loss_stops_naming_loss_and_iteration(teacher_checkpoint):
    MessageHub.get_current_instance().update_info('iter', 41)
    model = poison(build(teacher_checkpoint), 'loss_reviewkd')
    with pytest.raises(FloatingPointError, match=r"non-finite loss at iteration 41: "
                                                 r"loss_reviewkd=nan\. Set "
                                                 r"model.nonfinite_loss='skip'"):
        step(model, *fake_batch())


def test_nonfinite_distill_loss_skips_the_step_when_asked(teacher_checkpoint):
    model = poison(build(teacher_checkpoint, nonfinite_loss='skip'), 'loss_reviewkd')
    optim_wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)))
    before = {k: v.clone() for k, v in model.named_parameters()}
    loss, logs = step(model, *fake_batch(), optim_wrapper)
    assert loss.item() == 0 and torch.isnan(logs['loss_reviewkd'])
    assert all(torch.equal(v, before[k]) for k, v in model.named_parameters())
    assert not optim_wrapper.optimizer.state          # no momentum buffer was started either


# --- data ----------------------------------------------------------------------------------------

def coco_run_config(tmp_path, ann_file):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'frcnn_r18w8_student_shapes.py'))
    cfg.train_dataloader.dataset = dict(type='CocoDataset', data_root=str(tmp_path) + '/',
                                        ann_file=ann_file, data_prefix=dict(img=''))
    return cfg


def test_an_empty_dataset_file_is_refused_by_key(tmp_path):
    (tmp_path / 'empty.json').write_text('')
    with pytest.raises(ValueError, match=r'train_dataloader.dataset.ann_file: .*empty.json is '
                                         r'empty \(0 bytes\)'):
        check_dataset_files(coco_run_config(tmp_path, 'empty.json'), splits=('train',))
    (tmp_path / 'no_images.json').write_text(json.dumps(dict(images=[], annotations=[],
                                                             categories=[])))
    with pytest.raises(ValueError, match='no_images.json lists no images'):
        check_dataset_files(coco_run_config(tmp_path, 'no_images.json'), splits=('train',))
    with pytest.raises(FileNotFoundError, match=r'train_dataloader.dataset.ann_file: no '
                                                r'annotation file at .*missing.json'):
        check_dataset_files(coco_run_config(tmp_path, 'missing.json'), splits=('train',))


def test_generated_sets_may_be_missing_until_first_use(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'frcnn_r18w8_student_shapes.py'))
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'not_yet') + '/'
    check_dataset_files(cfg, splits=('train',))


def test_a_corrupt_image_names_the_file(tmp_path):
    from mmdet.registry import DATASETS
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    (tmp_path / 'one.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='bad.png', width=32, height=32)],
        annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 10, 10], area=100,
                          iscrowd=0)],
        categories=[dict(id=1, name='a')])))
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=str(tmp_path) + '/', ann_file='one.json',
        data_prefix=dict(img=''), metainfo=dict(classes=('a',)),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='PackDetInputs')]))
    with pytest.raises(AssertionError, match=r'failed to load image: .*bad\.png'):
        dataset[0]
