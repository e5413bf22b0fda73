"""AT: attention transfer (Zagoruyko and Komodakis, ICLR 2017) on levels paired by stride."""
from typing import Optional, Sequence

from mmkd.registry import MODELS
from ..losses import attention_transfer_distance, spatial_attention
from .paired_levels import PairedLevelsDistiller


@MODELS.register_module()
class AttentionTransfer(PairedLevelsDistiller):
    """The student's spatial attention ``sum_c |F_c|^p`` (flattened, unit L2 norm per image)
    learns the teacher's on each level the two models share by stride
    (:func:`~mmkd.models.losses.attention_transfer_distance`); summed over the levels, times
    ``loss_weight`` (``loss_at``). Channels are summed away, so the widths may differ and there
    is no connector.

    Args:
        student, teacher (str): modules returning a tuple of levels; ``'backbone'`` (the paper's
            residual groups) or ``'neck'``.
        p (float): the power of the attention; 2 in the paper.
        loss_weight (float): the paper's ``beta``, 1000 (the division by the map's elements and
            the batch size is in the loss).
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
    """

    loss_name = 'loss_at'

    def __init__(self, student: str = 'backbone', teacher: str = 'backbone', p: float = 2.0,
                 loss_weight: float = 1000.0, strides: Optional[Sequence[int]] = None,
                 init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector='none',
                         init_cfg=init_cfg)
        self.p = p

    def aligned_levels(self, student_records, teacher_records):
        """Per paired level, the two attention maps as (N, 1, H, W) (each image's map of unit
        L2 norm), which the loss compares."""
        levels = []
        for pair, student, teacher in super().aligned_levels(student_records, teacher_records):
            height, width = student.shape[-2:]
            levels.append((pair, *(spatial_attention(feat, self.p).reshape(-1, 1, height, width)
                                   for feat in (student, teacher))))
        return levels

    def level_loss(self, student, teacher):
        return attention_transfer_distance(student.flatten(1), teacher.flatten(1))
