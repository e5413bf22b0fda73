"""The common shape of distillers on relations between objects: each ground-truth box of the
batch pooled from each model's own feature pyramid, one embedding per object and model."""
from typing import Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.structures.bbox import bbox2roi, get_box_tensor

from .base import BaseDistiller, log_level_pairs, pair_levels


class ObjectRelationDistiller(BaseDistiller):
    """A distiller comparing how the batch's ground-truth objects relate to each other in the
    student and in the teacher (RKD, SP), not each object's features.

    Each model's levels shared by stride (:func:`pair_levels`) are RoI-aligned
    (``output_size`` x ``output_size``, mmdet's ``SingleRoIExtractor``: a box goes to the level
    of its scale, the same level in both models) on the boxes the student's ``loss`` receives
    (a tap on its inputs); each pooled box flattened is an embedding: (K, C_s * S * S) for the
    student, (K, C_t * S * S) for the teacher, K the boxes of the batch. Relations are K x K, so
    the widths may differ and there is no connector. A subclass implements
    :meth:`relation_losses` on the two embeddings.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): multiplies every loss.
        strides (Sequence[int], optional): pool from these strides only. Default: all shared.
        output_size (int): the pooled side, 7 as mmdet's RoI heads.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 1.0,
                 strides: Optional[Sequence[int]] = None, output_size: int = 7, init_cfg=None):
        super().__init__(dict(feats=student, samples='loss'), dict(feats=teacher), loss_weight,
                         init_cfg)
        self.strides = strides
        self.output_size = output_size
        self.pairs = []
        self.poolers = {}

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        name = type(self).__name__
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        self.pairs = pair_levels(student_feats, teacher_feats, name, self.student_taps['feats'],
                                 self.teacher_taps['feats'], self.strides)
        roi_layer = dict(type='RoIAlign', output_size=self.output_size, sampling_ratio=0)
        strides = [pair.stride for pair in self.pairs]
        # parameter-free, so kept out of the module tree (nothing in the state dict)
        self.poolers = {
            side: SingleRoIExtractor(roi_layer, feats[0].shape[1], strides)
            for side, feats in (('student', student_feats), ('teacher', teacher_feats))}
        log_level_pairs(name, self.pairs, student_feats, teacher_feats,
                        f'ground-truth boxes RoI-aligned to {self.output_size}x'
                        f'{self.output_size}, no connector')

    def object_embeddings(self, student_records, teacher_records
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(K, D_s) and (K, D_t): every ground-truth box of the batch pooled from each model."""
        samples = student_records['samples']['inputs']['batch_data_samples']
        rois = bbox2roi([get_box_tensor(sample.gt_instances.bboxes) for sample in samples])
        embeddings = []
        for side, records in (('student', student_records), ('teacher', teacher_records)):
            levels = tuple(records['feats'][getattr(pair, side)].contiguous()
                           for pair in self.pairs)
            embeddings.append(self.poolers[side](levels, rois.to(levels[0])).flatten(1))
        return embeddings[0], embeddings[1]

    def relation_losses(self, student: torch.Tensor, teacher: torch.Tensor) -> dict:
        """The named losses (unweighted) of (K, D_s) and (K, D_t) embeddings."""
        raise NotImplementedError

    def loss(self, student_records, teacher_records):
        return self.relation_losses(*self.object_embeddings(student_records, teacher_records))
