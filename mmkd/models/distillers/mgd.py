"""MGD: masked generative distillation (Yang et al., ECCV 2022) on a feature pyramid."""
from typing import Optional, Sequence

from torch import nn

from mmkd.registry import MODELS
from ..connectors import MaskedGeneration
from ..losses import squared_error_per_image
from .paired_levels import PairedLevelsDistiller


@MODELS.register_module()
class MGD(PairedLevelsDistiller):
    """On each level shared by stride, the student's map (through a 1x1 conv where the widths
    differ) is masked at random positions and a generation block
    (:class:`~mmkd.models.connectors.MaskedGeneration`) must produce the teacher's whole map
    from it: ``sum (T - G(align(S) * M))^2 / N`` (:func:`squared_error_per_image`), summed
    over the levels, times ``loss_weight`` (``loss_mgd``).

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        drop_ratio (float): share of positions masked: 0.65 for one-stage students (the
            paper's and the authors' RetinaNet configs), 0.45 in their Faster R-CNN student
            configs.
        loss_weight (float): ``alpha``: 2e-5 for one-stage students, 5e-7 in the authors'
            Faster R-CNN student configs (COCO). The loss is a sum over channels and positions,
            so its scale follows the map size and the teacher's activations: see
            ``tools/inspect_distill.py``'s loss scales.
        strides (Sequence[int], optional): distil these strides only. Default: all shared (the
            authors' Faster R-CNN configs take P2-P5, strides 4-32).
        connector (str): ``'if_widths_differ'`` (default) or ``'always'``: the 1x1 conv before
            the mask.
    """

    loss_name = 'loss_mgd'

    def __init__(self, student: str = 'neck', teacher: str = 'neck', drop_ratio: float = 0.65,
                 loss_weight: float = 2e-5, strides: Optional[Sequence[int]] = None,
                 connector: str = 'if_widths_differ', init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector, init_cfg=init_cfg)
        MaskedGeneration(1, drop_ratio)   # validates drop_ratio at build time
        self.drop_ratio = drop_ratio

    def make_connector(self, student_width, teacher_width):
        return nn.Sequential(super().make_connector(student_width, teacher_width),
                             MaskedGeneration(teacher_width, self.drop_ratio))

    def level_loss(self, student, teacher):
        return squared_error_per_image(student, teacher)
