"""Hint learning on feature maps (FitNets; Chen et al. 2017 for detection)."""
import torch
import torch.nn.functional as F
from torch import nn

from mmkd.registry import MODELS
from ..connectors import Adapter
from .base import BaseDistiller, check_level_pairs

_DISTANCES = {'l2': F.mse_loss, 'l1': F.l1_loss}


@MODELS.register_module()
class FeatureHint(BaseDistiller):
    """``|| r(V) - Z ||`` per level, ``r`` a 1x1 adaptation conv (also when widths match).

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
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 0.5,
                 distance: str = 'l2', relu: bool = False, init_cfg=None):
        super().__init__(dict(feats=student), dict(feats=teacher), loss_weight, init_cfg)
        if distance not in _DISTANCES:
            raise ValueError(f'FeatureHint distance={distance!r}: choose from {list(_DISTANCES)}')
        self.distance = _DISTANCES[distance]
        self.relu = relu
        self.adapters = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        check_level_pairs(student_feats, teacher_feats, 'FeatureHint',
                          self.student_taps['feats'], self.teacher_taps['feats'])
        self.adapters = nn.ModuleList(Adapter(s.shape[1], t.shape[1], self.relu)
                                      for s, t in zip(student_feats, teacher_feats))

    def loss(self, student_records, teacher_records):
        losses = [self.distance(adapter(s), t) for adapter, s, t
                  in zip(self.adapters, student_records['feats'], teacher_records['feats'])]
        return dict(loss_hint=torch.stack(losses).mean())
