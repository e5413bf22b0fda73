"""CWD: channel-wise distillation (Shu et al., ICCV 2021) on a feature pyramid."""
from typing import Optional, Sequence

from mmkd.registry import MODELS
from ..losses import channel_wise_divergence
from .paired_levels import PairedLevelsDistiller


@MODELS.register_module()
class CWD(PairedLevelsDistiller):
    """Each channel of each shared level, as a softmax over its positions at temperature
    ``tau``, learns the teacher's (:func:`channel_wise_divergence`); summed over the levels
    paired by stride, times ``loss_weight`` (``loss_cwd``). The student's maps reach the
    teacher's width through a 1x1 conv where the widths differ (as given otherwise).

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        tau (float): temperature; 1 in MMRazor's Faster R-CNN / RetinaNet configs.
        loss_weight (float): 10 in those configs (each FPN level at weight 10, summed).
        strides (Sequence[int], optional): distil these strides only. Default: all shared.
        connector (str): ``'if_widths_differ'`` (default) or ``'always'``.
    """

    loss_name = 'loss_cwd'

    def __init__(self, student: str = 'neck', teacher: str = 'neck', tau: float = 1.0,
                 loss_weight: float = 10.0, strides: Optional[Sequence[int]] = None,
                 connector: str = 'if_widths_differ', init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector, init_cfg=init_cfg)
        self.tau = tau

    def level_loss(self, student, teacher):
        return channel_wise_divergence(student, teacher, self.tau)
