"""DETRDistill's target-aware feature distillation (Chang et al., ICCV 2023)."""
from typing import Optional, Sequence

import torch
from mmdet.structures.bbox import get_box_tensor

from mmkd.registry import MODELS
from ..detr_queries import check_detr_pair, own_query_answers, sigmoid_scores
from ..losses import masked_mse, query_prior_mask, query_quality
from .paired_levels import PairedLevelsDistiller


def normalised_boxes(sample) -> torch.Tensor:
    """(G, 4) a data sample's ground-truth boxes as fractions of its image's width and height,
    ``(x1, y1, x2, y2)``, as DETR heads normalise theirs."""
    boxes = get_box_tensor(sample.gt_instances.bboxes)
    height, width = sample.metainfo['img_shape'][:2]
    return boxes / boxes.new_tensor([width, height, width, height])


@MODELS.register_module()
class TargetAwareFeatureKD(PairedLevelsDistiller):
    """The neck maps compared where the teacher's best queries look.

    In each step the teacher decodes its own queries; for each of its decoder layers, its
    ``num_selected`` best (query, class) predictions per image are weighted by their quality,
    the class probability times the box's largest IoU with a ground-truth box
    (:func:`~mmkd.models.losses.query_quality`). Their decoder embeddings, against each
    teacher neck level, make a mask: the quality-weighted sum of cosine similarities, clamped
    at 0.01 and scaled to a maximum of 1 per image
    (:func:`~mmkd.models.losses.query_prior_mask`). On each level paired by stride the loss is
    the mean squared difference of the two maps under the mask, the student's through a 1x1
    conv where the widths differ; ``loss_target_aware`` sums it over the levels and the
    teacher's decoder layers (one mask per layer).

    As the authors' released code (``BIVLab-USTC/DETRDistill``, ``distiller.py``, Deformable
    DETR): 100 selections, every decoder layer, weight 1.

    Both models must be DETR-family detectors, the teacher's decoder as wide as its neck maps
    (as mmdet's DETRs are; checked at build). The ground truth is the one the student's
    ``loss`` receives (a tap on its inputs).

    Args:
        num_selected (int): (query, class) predictions selected per image and layer. Default
            100.
        student, teacher (str): the two necks. Default ``'neck'``.
        loss_weight (float): multiplies the loss. Default 1.
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
        connector (str): ``'if_widths_differ'`` (default), ``'always'`` or ``'none'``.
    """

    loss_name = 'loss_target_aware'
    averages_teachers = False     # its teacher records are a decoder's answers
    teacher_work = 'backbone + neck + encoder + decoder on its own queries'

    def __init__(self, num_selected: int = 100, student: str = 'neck', teacher: str = 'neck',
                 loss_weight: float = 1.0, strides: Optional[Sequence[int]] = None,
                 connector: str = 'if_widths_differ', init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector, init_cfg=init_cfg)
        if num_selected < 1:
            raise ValueError(f'TargetAwareFeatureKD num_selected={num_selected}: select at '
                             f'least one (query, class) prediction per image')
        self.student_taps['samples'] = 'loss'
        self.num_selected = num_selected

    def check_pair(self, student_model, teacher_model):
        check_detr_pair(student_model, teacher_model)

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        super().setup(student_records, teacher_records, student_model, teacher_model)
        widths = {teacher_records['feats'][pair.teacher].shape[1] for pair in self.pairs}
        if widths != {teacher_model.embed_dims}:
            raise ValueError(f'TargetAwareFeatureKD compares the teacher\'s decoder embeddings '
                             f'({teacher_model.embed_dims} wide) with its neck maps '
                             f'({sorted(widths)} wide; teacher={self.teacher_taps["feats"]!r}): '
                             f'they must be of one width')
        self.sigmoid = sigmoid_scores(teacher_model)

    def teacher_forward(self, student_records, teacher_records, teacher):
        """Per teacher decoder layer, per paired level, the (N, 1, H, W) mask."""
        feats = teacher_records['feats']
        samples = student_records['samples']['inputs']['batch_data_samples']
        answers = own_query_answers(teacher, feats, samples)
        states, scores, boxes = answers['states'], answers['scores'], answers['boxes']
        probabilities = scores.sigmoid() if self.sigmoid else scores.softmax(-1)[..., :-1]
        gt_boxes = [normalised_boxes(sample) for sample in samples]
        masks = []
        for layer_states, layer_probabilities, layer_boxes in zip(states, probabilities, boxes):
            queries, qualities = query_quality(layer_probabilities, layer_boxes, gt_boxes,
                                               self.num_selected)
            embeddings = layer_states.gather(
                1, queries[..., None].expand(-1, -1, layer_states.shape[-1]))
            masks.append([query_prior_mask(embeddings, qualities, feats[pair.teacher])
                          for pair in self.pairs])
        return dict(masks=masks)

    def loss(self, student_records, teacher_records):
        levels = self.aligned_levels(student_records, teacher_records)
        total = 0
        for layer_masks in teacher_records['masks']:
            for (_, student, teacher), mask in zip(levels, layer_masks):
                total = total + masked_mse(student, teacher,
                                           mask[..., :teacher.shape[-2], :teacher.shape[-1]])
        return {self.loss_name: total}
