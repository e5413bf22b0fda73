"""ReviewKD (Chen, Liu, Zhao, Jia, CVPR 2021) on a feature pyramid."""
from typing import Optional, Sequence

from torch import nn

from mmkd.registry import MODELS
from ..connectors import ABF
from ..losses import hcl_loss
from .base import BaseDistiller, check_level_pairs


@MODELS.register_module()
class ReviewKD(BaseDistiller):
    """Cross-stage review: each student level, fused through an ABF chain that runs from the
    deepest level to the shallowest, learns its teacher level with HCL.

    Levels are taken in the order the tapped module returns them, shallow to deep (as mmdet
    necks do); channel widths and level count are read from the two models. The loss is the sum
    of HCL over levels times ``loss_weight`` (``loss_reviewkd`` in the log).

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): 1.2 for Faster R-CNN R101->R18 in the paper.
        mid_channels (int, optional): ABF fusion width; default the teacher's width.
        pool_sizes (Sequence[int]): HCL pyramid. Default (4, 2, 1).
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 1.0,
                 mid_channels: Optional[int] = None, pool_sizes: Sequence[int] = (4, 2, 1),
                 init_cfg=None):
        super().__init__(dict(feats=student), dict(feats=teacher), loss_weight, init_cfg)
        self.mid_channels = mid_channels
        self.pool_sizes = tuple(pool_sizes)
        self.abfs = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        check_level_pairs(student_feats, teacher_feats, 'ReviewKD', self.student_taps['feats'],
                          self.teacher_taps['feats'])
        deepest = len(student_feats) - 1
        self.abfs = nn.ModuleList(
            ABF(s.shape[1], self.mid_channels or t.shape[1], t.shape[1], fuse=level < deepest)
            for level, (s, t) in enumerate(zip(student_feats, teacher_feats)))

    def loss(self, student_records, teacher_records):
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        fused = [None] * len(student_feats)
        residual = None
        for level in reversed(range(len(student_feats))):
            fused[level], residual = self.abfs[level](student_feats[level], residual)
        loss = sum(hcl_loss(s, t, self.pool_sizes) for s, t in zip(fused, teacher_feats))
        return dict(loss_reviewkd=loss)
