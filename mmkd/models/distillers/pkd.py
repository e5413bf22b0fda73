"""PKD: feature distillation by Pearson correlation (Cao et al., NeurIPS 2022)."""
from typing import Optional, Sequence

from mmkd.registry import MODELS
from ..losses import pearson_distance
from .paired_levels import PairedLevelsDistiller


@MODELS.register_module()
class PKD(PairedLevelsDistiller):
    """Both maps of each shared level standardised per channel (over batch and positions),
    then half their MSE (:func:`pearson_distance`); summed over the levels paired by stride,
    times ``loss_weight`` (``loss_pkd``). Scale-free, so teachers whose activations are far
    larger than the student's need no tuning of the weight. The student's maps reach the
    teacher's width through a 1x1 conv where the widths differ.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): 6, as MMRazor's Faster R-CNN R101 -> R50 config, which gives it to
            each of the FPN levels 0-3 (P2-P5, strides 4-32).
        strides (Sequence[int], optional): distil these strides only. Default: all shared,
            which on mmdet's Faster R-CNN FPN adds P6 (stride 64, a max-pool of P5) to
            MMRazor's four levels: +22% on ``configs/pkd_frcnn.py``'s first step. Pass
            ``strides=[4, 8, 16, 32]`` for MMRazor's levels (``configs/pkd_p2_p5_frcnn.py``).
        connector (str): ``'if_widths_differ'`` (default) or ``'always'``.
    """

    loss_name = 'loss_pkd'

    def __init__(self, student: str = 'neck', teacher: str = 'neck', loss_weight: float = 6.0,
                 strides: Optional[Sequence[int]] = None, connector: str = 'if_widths_differ',
                 init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector, init_cfg=init_cfg)

    def level_loss(self, student, teacher):
        return pearson_distance(student, teacher)
