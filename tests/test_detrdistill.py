"""DETRDistill's feature and query terms (Chang et al., ICCV 2023): the target-aware feature
loss against the formula written out here, and the query-prior assignment loss against the
detectors' own detection losses."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from conftest import CONFIGS, TEACHER_CONFIG
from detr_models import tiny_detr
from mmkd.models.teacher import load_model_config
from mmkd.models.losses import masked_mse, query_prior_mask, query_quality
from mmkd.registry import MODELS
from mmkd.utils import load_run_config
from test_detr_kd import distill_detr, quiet_train, saved_detr, xyxy_by_hand
from test_distill_detector import fake_batch


def iou_by_hand(a, b):
    """IoU of two (x1, y1, x2, y2) boxes."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def target_aware_by_hand(states, probabilities, boxes, gt_boxes, teacher_map, student_map,
                         num_selected):
    """DETRDistill's target-aware loss of one decoder layer on one level, image by image and
    position by position: the top (query, class) probabilities, each weighted by its box's
    best IoU with the ground truth (normalised xyxy; none: the probability), the weighted sum
    of cosine similarities of their embeddings with the teacher's feature vectors, at least
    0.01, over its maximum; then the mean squared masked difference."""
    states, probabilities, boxes = (np.asarray(x, dtype=np.float64)
                                    for x in (states, probabilities, boxes))
    teacher_map = np.asarray(teacher_map, dtype=np.float64)
    student_map = np.asarray(student_map, dtype=np.float64)
    squared = []
    for image in range(len(states)):
        flat = [(probabilities[image, q, c], q) for q in range(probabilities.shape[1])
                for c in range(probabilities.shape[2])]
        flat.sort(key=lambda item: -item[0])
        height, width = teacher_map.shape[-2:]
        mask = np.zeros((height, width))
        for probability, query in flat[:num_selected]:
            weight = probability
            if len(gt_boxes[image]):
                weight *= max(iou_by_hand(xyxy_by_hand(boxes[image, query]), gt)
                              for gt in np.asarray(gt_boxes[image], dtype=np.float64))
            embedding = states[image, query] / np.linalg.norm(states[image, query])
            for y in range(height):
                for x in range(width):
                    feature = teacher_map[image, :, y, x]
                    mask[y, x] += weight * embedding @ feature / np.linalg.norm(feature)
        mask = np.maximum(mask, 0.01)
        mask /= mask.max()
        squared.append((mask * (teacher_map[image] - student_map[image])) ** 2)
    return np.mean(squared)


def test_target_aware_loss_follows_the_formula():
    """The mask and loss of one layer on one level, for an image with boxes and one without."""
    torch.manual_seed(0)
    n, q, c, d, h, w, k = 2, 6, 3, 5, 4, 3, 4
    states, probabilities = torch.randn(n, q, d), torch.rand(n, q, c)
    boxes = torch.cat([torch.rand(n, q, 2) * 0.6 + 0.2, torch.rand(n, q, 2) * 0.4 + 0.1], -1)
    gt_boxes = [torch.tensor([[0.1, 0.2, 0.5, 0.7], [0.4, 0.3, 0.9, 0.8]]), torch.zeros(0, 4)]
    teacher_map, student_map = torch.randn(n, d, h, w), torch.randn(n, d, h, w)
    queries, qualities = query_quality(probabilities, boxes, gt_boxes, k)
    embeddings = states.gather(1, queries[..., None].expand(-1, -1, d))
    mask = query_prior_mask(embeddings, qualities, teacher_map)
    loss = masked_mse(student_map, teacher_map, mask)
    expected = target_aware_by_hand(states, probabilities, boxes, gt_boxes, teacher_map,
                                    student_map, k)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert mask.shape == (n, 1, h, w) and mask.flatten(1).max(1).values.tolist() == [1, 1]


def class_branches(detector):
    """The linear layers that give a DETR head's class scores."""
    head = detector.bbox_head
    return list(head.cls_branches) if hasattr(head, 'cls_branches') else [head.fc_cls]


def non_square_batch():
    """``fake_batch`` with images 48 high and 64 wide in a 64 x 64 batch (bottom padding), so
    that a height read for a width shows."""
    inputs, samples = fake_batch(size=64)
    for sample in samples:
        sample.set_metainfo(dict(img_shape=(48, 64), ori_shape=(48, 64)))
        # large boxes, which the teacher's boxes overlap at its initial weights
        sample.gt_instances.bboxes = torch.tensor([[2., 2., 62., 46.], [10., 4., 40., 44.]])
    return inputs, samples


@pytest.mark.parametrize('family', ['dino', 'deformable_detr'])
def test_target_aware_feature_kd_masks_with_every_teacher_layer(tmp_path, family):
    """The distiller's loss is the formula summed over the teacher's decoder layers and the
    paired neck levels, with the teacher's embeddings and predictions of its own forward and
    the ground truth as fractions of each image's width and height; its gradient reaches the
    student's neck, never the teacher."""
    checkpoint = saved_detr(tmp_path, family)
    model = distill_detr(tiny_detr(family), tiny_detr(family), checkpoint,
                         [dict(type='mmkd.TargetAwareFeatureKD', num_selected=5)])
    with torch.no_grad():    # a confident teacher: at its initial class prior (0.01) the
        for branch in class_branches(model.teacher.detector):    # mask would be flat
            branch.bias.fill_(2.0)
    inputs, samples = non_square_batch()
    step = quiet_train(model).distill_step(inputs, samples)

    teacher = model.teacher.detector
    with torch.no_grad():
        teacher_feats = teacher.extract_feat(inputs)
        outputs = teacher.forward_transformer(teacher_feats, samples)
        scores, boxes = teacher.bbox_head(
            *[outputs[key] for key in ('hidden_states', 'references') if key in outputs])
    student_feats = step.student_records[0]['feats']
    gt_boxes = [sample.gt_instances.bboxes / torch.tensor([64., 48., 64., 48.])
                for sample in samples]
    expected = sum(
        target_aware_by_hand(outputs['hidden_states'][layer], scores[layer].sigmoid(),
                             boxes[layer], gt_boxes, teacher_map, student_map.detach(), 5)
        for layer in range(len(scores))
        for teacher_map, student_map in zip(teacher_feats, student_feats))
    loss = step.losses['loss_target_aware']
    assert len(scores) == 2 and loss.item() == pytest.approx(expected, rel=1e-4)

    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.neck.parameters())
    assert all(p.grad is None for p in teacher.parameters())


def own_detection_losses(losses, term):
    """A DETR's ``loss_<term>`` summed over its decoder layers (``d<i>.loss_<term>`` and the
    last layer's), denoising and encoder losses left out."""
    return sum(value for name, value in losses.items()
               if name == f'loss_{term}' or (name.startswith('d') and name.endswith(
                   f'.loss_{term}') and 'dn' not in name))


def student_as_teacher(family, assignment, tmp_path):
    """A query-prior model whose student has its teacher's weights, and the teacher alone."""
    def config():
        return tiny_detr(family)
    checkpoint = saved_detr(tmp_path, family, config=config())
    model = distill_detr(config(), config(), checkpoint,
                         [dict(type='mmkd.QueryPriorAssignmentKD', assignment=assignment)])
    model.student.load_state_dict(model.teacher.detector.state_dict())
    alone = MMDET_MODELS.build(config())
    alone.load_state_dict(model.teacher.detector.state_dict())
    return model, alone


@pytest.mark.parametrize('assignment', ['teacher', 'student'])
@pytest.mark.parametrize('family', ['deformable_detr', 'dino'])
def test_query_prior_on_a_student_equal_to_its_teacher_is_its_own_detection_loss(
        tmp_path, family, assignment):
    """With its teacher's weights the student answers the teacher's queries as its own, and
    either assignment is its own matching: each term is its own detection loss summed over
    the decoder layers (layer by layer, every layer counted)."""
    model, alone = student_as_teacher(family, assignment, tmp_path)
    inputs, samples = fake_batch(size=64)
    losses = quiet_train(model).loss(inputs, samples)
    own = quiet_train(alone, alone).loss(inputs, [sample.clone() for sample in samples])
    for term in ('cls', 'bbox', 'iou'):
        expected = own_detection_losses(own, term)
        assert losses[f'loss_query_prior_{term}'].item() == pytest.approx(expected.item(),
                                                                           rel=1e-4), term


@pytest.mark.parametrize('family', ['deformable_detr', 'dino'])
def test_query_prior_teacher_assignment_is_the_teachers_matching(tmp_path, family):
    """A student with its teacher's weights but class scores all zero: its boxes on the
    teacher's queries are the teacher's, so under the teacher's assignment (the teacher's
    class scores and boxes matched to the ground truth) the box terms are the teacher's own
    box losses; matched by the student's own (blank) scores they are not. The class term
    trains the student's class branches."""
    model, alone = student_as_teacher(family, 'teacher', tmp_path)
    branches = [class_branches(detector)
                for detector in (model.student, model.teacher.detector, alone)]
    with torch.no_grad():
        for student, teacher, teacher_alone in zip(*branches):
            student.weight.zero_()
            student.bias.zero_()
            # class scores far apart, so that the class cost decides the teacher's matching
            teacher.weight.mul_(30)
            teacher_alone.weight.mul_(30)
    inputs, samples = fake_batch(size=64)
    losses = quiet_train(model).loss(inputs, samples)
    own = quiet_train(alone, alone).loss(inputs, [sample.clone() for sample in samples])
    for term in ('bbox', 'iou'):
        expected = own_detection_losses(own, term)
        assert losses[f'loss_query_prior_{term}'].item() == pytest.approx(expected.item(),
                                                                           rel=1e-4), term
    model.distillers[0].assignment = 'student'
    by_student = quiet_train(model).loss(inputs, samples)
    assert by_student['loss_query_prior_bbox'].item() != pytest.approx(
        losses['loss_query_prior_bbox'].item(), rel=1e-3)

    losses['loss_query_prior_cls'].backward()
    assert branches[0][0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.detector.parameters())


def test_detrdistill_terms_name_what_does_not_pair(tmp_path, teacher_checkpoint):
    """A CNN teacher, queries of another kind, or an unknown assignment fail at build."""
    with pytest.raises(ValueError, match=r'the teacher \(FasterRCNN\) is not a DETR-family '
                                         r'detector'):
        distill_detr(tiny_detr('dino'), TEACHER_CONFIG, teacher_checkpoint,
                     [dict(type='mmkd.TargetAwareFeatureKD')])
    checkpoint = saved_detr(tmp_path, 'dab_detr')
    with pytest.raises(ValueError, match=r'QueryPriorAssignmentKD feeds both decoders the same '
                                         r'points, so .*student DETR \(embedding points of 32 '
                                         r'values\), teacher DABDETR \(box points'):
        distill_detr(tiny_detr('detr'), tiny_detr('dab_detr'), checkpoint,
                     [dict(type='mmkd.QueryPriorAssignmentKD', assignment='student')])
    with pytest.raises(ValueError, match=r"assignment='gt': choose from \('teacher', "
                                         r"'student'\)"):
        distill_detr(tiny_detr('dab_detr'), tiny_detr('dab_detr'), checkpoint,
                     [dict(type='mmkd.QueryPriorAssignmentKD', assignment='gt')])


def test_the_teachers_decoder_runs_once_a_step_for_every_query_distiller(tmp_path):
    """The four query-reading distillers in one config share the teacher's transformer run
    of a step (one encoder call per step), the next step gets answers of its own, and none are
    kept between steps."""
    checkpoint = saved_detr(tmp_path, 'dino')
    model = distill_detr(tiny_detr('dino'), tiny_detr('dino'), checkpoint, [
        dict(type='mmkd.HungarianKD'), dict(type='mmkd.TargetAwareFeatureKD'),
        dict(type='mmkd.QueryPriorAssignmentKD'), dict(type='mmkd.KDDETR', num_general=4)])
    detector, calls = model.teacher.detector, []
    encoder = detector.forward_encoder
    detector.forward_encoder = lambda **kwargs: calls.append(1) or encoder(**kwargs)
    inputs, samples = fake_batch(size=64)
    first = quiet_train(model).distill_step(inputs, samples)
    second = quiet_train(model).distill_step(inputs.flip(-1), samples)
    assert len(calls) == 2 and model.teacher.step_memo == {}
    assert not torch.allclose(first.teacher_records[0]['probabilities'],
                              second.teacher_records[0]['probabilities'])


# the shapes DINO configs and what each must log
SHAPES_DINO_CONFIGS = {
    'kd_detr_dino.py': ['loss_kddetr_general_cls', 'loss_kddetr_specific_cls'],
    'pkd_dino.py': ['loss_pkd'],
    'kd_detr_pkd_dino.py': ['loss_kddetr_general_cls', 'loss_pkd'],
    'hungarian_kd_dino.py': ['loss_hungarian_kd_cls'],
    'detrdistill_dino.py': ['loss_hungarian_kd_cls', 'loss_target_aware',
                            'loss_query_prior_cls'],
    'pkd_dino_to_frcnn_shapes.py': ['loss_pkd'],
    'pkd_frcnn_to_dino_shapes.py': ['loss_pkd'],
}


@pytest.mark.parametrize('config', sorted(SHAPES_DINO_CONFIGS))
def test_shapes_dino_configs_take_a_step(tmp_path, config):
    """Each shipped shapes DINO config (and the two across DINO and Faster R-CNN) builds with
    its teacher at random weights and takes a step on 96 px images with its distillers'
    losses."""
    cfg = load_run_config(osp.join(CONFIGS, config), work_dir=str(tmp_path))
    teacher = MMDET_MODELS.build(load_model_config(cfg.model.teacher.config))
    teacher.init_weights()
    checkpoint = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), checkpoint)
    cfg.model.teacher.checkpoint = checkpoint
    model = MODELS.build(cfg.model)
    model.init_weights()
    inputs, samples = fake_batch(size=96)
    losses = quiet_train(model).loss(inputs, samples)
    for name in SHAPES_DINO_CONFIGS[config]:
        assert name in losses and torch.isfinite(losses[name]).all(), name
