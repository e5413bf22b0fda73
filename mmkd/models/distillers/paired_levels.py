"""The common shape of feature-level distillers: pair two pyramids by stride, bring the
student's maps to the teacher's width with a connector, compare level by level."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

from ..connectors import Adapter
from .base import BaseDistiller, common_crop, log_level_pairs, pair_levels


class PairedLevelsDistiller(BaseDistiller):
    """A distiller that compares the levels two feature pyramids share by stride
    (:func:`pair_levels`), the student's through a 1x1 conv connector (:class:`Adapter`).

    A subclass sets ``loss_name`` and implements :meth:`level_loss`; the level losses are
    summed, or averaged with ``reduce_levels='mean'``. A method whose student side is more than
    a width change (MGD's masked generation, say) extends :meth:`make_connector`.

    Args:
        student, teacher (str): modules returning a tuple of (N, C, H, W) levels.
        loss_weight (float): multiplies the loss.
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
        connector (str): ``'always'`` a 1x1 conv on every level, ``'if_widths_differ'`` only
            where the two widths differ (identity otherwise), ``'none'`` never (for losses that
            compare maps of any two widths).
        relu (bool): ReLU after the connector's conv. Default False.
    """

    loss_name = 'loss'
    reduce_levels = 'sum'
    CONNECTORS = ('always', 'if_widths_differ', 'none')

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 1.0,
                 strides: Optional[Sequence[int]] = None, connector: str = 'always',
                 relu: bool = False, init_cfg=None):
        super().__init__(dict(feats=student), dict(feats=teacher), loss_weight, init_cfg)
        if connector not in self.CONNECTORS:
            raise ValueError(f'{type(self).__name__} connector={connector!r}: choose from '
                             f'{self.CONNECTORS}')
        self.strides = strides
        self.connector = connector
        self.relu = relu
        self.pairs = []
        self.adapters = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        name = type(self).__name__
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        self.pairs = pair_levels(student_feats, teacher_feats, name, self.student_taps['feats'],
                                 self.teacher_taps['feats'], self.strides)
        widths = [(student_feats[p.student].shape[1], teacher_feats[p.teacher].shape[1])
                  for p in self.pairs]
        self.adapters = nn.ModuleList(self.make_connector(s, t) for s, t in widths)
        log_level_pairs(name, self.pairs, student_feats, teacher_feats,
                        'no connector' if self.connector == 'none'
                        else f'1x1 conv connector, {self.connector}')

    def make_connector(self, student_width: int, teacher_width: int) -> nn.Module:
        """The module that takes one level of the student, (N, student_width, H, W), to
        what the loss compares with the teacher's (N, teacher_width, H, W) map."""
        if self.connector == 'always' or (self.connector == 'if_widths_differ'
                                          and student_width != teacher_width):
            return Adapter(student_width, teacher_width, self.relu)
        return nn.Identity()

    def aligned_levels(self, student_records, teacher_records) -> List[tuple]:
        """Per paired level: the pair, the student's map through its connector and the
        teacher's map, both (N, C_t, H, W) on their common part."""
        levels = []
        for adapter, pair in zip(self.adapters, self.pairs):
            student, teacher = common_crop(student_records['feats'][pair.student],
                                           teacher_records['feats'][pair.teacher])
            levels.append((pair, adapter(student), teacher))
        return levels

    def level_loss(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """The unweighted loss of one level, (N, C, H, W) maps of one shape -> scalar."""
        raise NotImplementedError

    def loss(self, student_records, teacher_records) -> Dict[str, torch.Tensor]:
        losses = torch.stack([
            self.level_loss(student, teacher)
            for _, student, teacher in self.aligned_levels(student_records, teacher_records)])
        return {self.loss_name: losses.mean() if self.reduce_levels == 'mean' else losses.sum()}
