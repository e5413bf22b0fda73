"""ReviewKD (Chen, Liu, Zhao, Jia, CVPR 2021) on a feature pyramid."""
from typing import Optional, Sequence

from torch import nn

from mmkd.registry import MODELS
from ..connectors import ABF
from ..losses import hcl_loss
from .base import BaseDistiller, common_crop, log_level_pairs, pair_levels


@MODELS.register_module()
class ReviewKD(BaseDistiller):
    """Cross-stage review: each student level, fused through an ABF chain that runs from the
    deepest level to the shallowest, learns the teacher's level of the same stride with HCL.

    Levels are paired by stride (:func:`pair_levels`): the strides both models have, or those
    of ``strides``; the ABF chain runs over the paired levels, deep to shallow. Channel widths
    are read from the two models. The loss is the sum of HCL over the paired levels times
    ``loss_weight`` (``loss_reviewkd`` in the log).

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): 1.2 for Faster R-CNN R101->R18 in the paper.
        mid_channels (int, optional): ABF fusion width; default the teacher's width.
        pool_sizes (Sequence[int]): HCL pyramid. Default (4, 2, 1).
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 1.0,
                 mid_channels: Optional[int] = None, pool_sizes: Sequence[int] = (4, 2, 1),
                 strides: Optional[Sequence[int]] = None, init_cfg=None):
        super().__init__(dict(feats=student), dict(feats=teacher), loss_weight, init_cfg)
        self.mid_channels = mid_channels
        self.pool_sizes = tuple(pool_sizes)
        self.strides = strides
        self.pairs = []
        self.abfs = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        student_feats, teacher_feats = student_records['feats'], teacher_records['feats']
        self.pairs = pair_levels(student_feats, teacher_feats, 'ReviewKD',
                                 self.student_taps['feats'], self.teacher_taps['feats'],
                                 self.strides)
        deepest = len(self.pairs) - 1
        self.abfs = nn.ModuleList(
            ABF(student_feats[pair.student].shape[1],
                self.mid_channels or teacher_feats[pair.teacher].shape[1],
                teacher_feats[pair.teacher].shape[1], fuse=index < deepest)
            for index, pair in enumerate(self.pairs))
        log_level_pairs('ReviewKD', self.pairs, student_feats, teacher_feats, 'ABF')

    def aligned_levels(self, student_records, teacher_records):
        """Per paired level: the pair, the student's map fused through its ABF chain and the
        teacher's map, both (N, C_t, H, W) on their common part."""
        student_feats, teacher_feats = zip(*(
            common_crop(student_records['feats'][pair.student],
                        teacher_records['feats'][pair.teacher]) for pair in self.pairs))
        fused = [None] * len(student_feats)
        residual = None
        for level in reversed(range(len(student_feats))):
            fused[level], residual = self.abfs[level](student_feats[level], residual)
        return list(zip(self.pairs, fused, teacher_feats))

    def loss(self, student_records, teacher_records):
        return dict(loss_reviewkd=sum(
            hcl_loss(student, teacher, self.pool_sizes)
            for _, student, teacher in self.aligned_levels(student_records, teacher_records)))
