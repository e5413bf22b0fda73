"""RKD: relational knowledge distillation (Park et al., CVPR 2019) between detected objects."""
from typing import Optional, Sequence

from mmkd.registry import MODELS
from ..losses import rkd_angle_loss, rkd_distance_loss
from .object_relations import ObjectRelationDistiller


@MODELS.register_module()
class RKD(ObjectRelationDistiller):
    """The distances between the batch's ground-truth objects (each normalised by their mean)
    and the angles of their triplets, in the student's RoI-pooled features, learn the
    teacher's (:func:`~mmkd.models.losses.rkd_distance_loss`,
    :func:`~mmkd.models.losses.rkd_angle_loss`, Huber): ``loss_rkd_distance`` and
    ``loss_rkd_angle``. Zero for a batch with fewer than 2 (3) objects.

    The paper writes each term as a sum over the pairs (triplets); here, as in the authors'
    code (lenscloth/RKD) that set the weights, it is the mean over all ``K^2`` (``K^3``)
    entries, those of a repeated object included (they add 0), so that a batch's weight does not
    grow with the square (cube) of its object count.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        distance_weight, angle_weight (float): ``lambda_D`` 1 and ``lambda_A`` 2 (the paper).
        loss_weight (float): multiplies both. Default 1.
        strides, output_size: see :class:`ObjectRelationDistiller`.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck',
                 distance_weight: float = 1.0, angle_weight: float = 2.0,
                 loss_weight: float = 1.0, strides: Optional[Sequence[int]] = None,
                 output_size: int = 7, init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, output_size, init_cfg)
        self.distance_weight = distance_weight
        self.angle_weight = angle_weight

    def relation_losses(self, student, teacher):
        return dict(loss_rkd_distance=self.distance_weight * rkd_distance_loss(student, teacher),
                    loss_rkd_angle=self.angle_weight * rkd_angle_loss(student, teacher))
