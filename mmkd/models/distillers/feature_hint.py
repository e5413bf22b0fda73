"""Hint learning on feature maps (FitNets; Chen et al. 2017 for detection)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmkd.registry import MODELS
from ..connectors import Adapter
from .base import BaseDistiller, common_crop, log_level_pairs, pair_levels

_DISTANCES = {'l2': F.mse_loss, 'l1': F.l1_loss}


@MODELS.register_module()
class FeatureHint(BaseDistiller):
    """``|| r(V) - Z ||`` per level, ``r`` a 1x1 adaptation conv (also when widths match), on
    the levels the two models share by stride (:func:`pair_levels`).

    Each level's distance is normalised by its element count (a mean), and the levels are
    averaged: Chen et al. (2017) put one hint on the one feature map their heads read, with
    ``gamma = 0.5``; with a feature pyramid the heads read all its levels, so the pyramid is the
    hint layer and ``loss_weight`` keeps the paper's meaning whatever the level count (a sum
    over a 5-level FPN would weigh the hint 5x). Logged as ``loss_hint``.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): ``gamma``; 0.5 in the paper.
        distance (str): ``'l2'`` (squared, default) or ``'l1'``.
        relu (bool): ReLU after the adaptation conv. Default False.
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 0.5,
                 distance: str = 'l2', relu: bool = False,
                 strides: Optional[Sequence[int]] = None, init_cfg=None):
        super().__init__(dict(feats=student), dict(feats=teacher), loss_weight, init_cfg)
        if distance not in _DISTANCES:
            raise ValueError(f'FeatureHint distance={distance!r}: choose from {list(_DISTANCES)}')
        self.distance = _DISTANCES[distance]
        self.relu = relu
        self.strides = strides
        self.pairs = []
        self.adapters = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        self.pairs = pair_levels(student_feats, teacher_feats, 'FeatureHint',
                                 self.student_taps['feats'], self.teacher_taps['feats'],
                                 self.strides)
        self.adapters = nn.ModuleList(
            Adapter(student_feats[pair.student].shape[1], teacher_feats[pair.teacher].shape[1],
                    self.relu) for pair in self.pairs)
        log_level_pairs('FeatureHint', self.pairs, student_feats, teacher_feats,
                        '1x1 conv adapter')

    def aligned_levels(self, student_records, teacher_records):
        """Per paired level: the pair, the student's map through its adapter and the teacher's
        map, both (N, C_t, H, W) on their common part."""
        levels = []
        for adapter, pair in zip(self.adapters, self.pairs):
            student, teacher = common_crop(student_records['feats'][pair.student],
                                           teacher_records['feats'][pair.teacher])
            levels.append((pair, adapter(student), teacher))
        return levels

    def loss(self, student_records, teacher_records):
        return dict(loss_hint=torch.stack([
            self.distance(student, teacher)
            for _, student, teacher in self.aligned_levels(student_records, teacher_records)
        ]).mean())
