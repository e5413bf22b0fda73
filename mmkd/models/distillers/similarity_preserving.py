"""SP: similarity-preserving distillation (Tung and Mori, ICCV 2019) between detected objects."""
from typing import Optional, Sequence

from mmkd.registry import MODELS
from ..losses import similarity_preserving_loss
from .object_relations import ObjectRelationDistiller


@MODELS.register_module()
class SimilarityPreserving(ObjectRelationDistiller):
    """The batch's similarity matrix ``G = Q Q^T`` (rows L2-normalised), ``Q`` the ground-truth
    objects' RoI-pooled features, learns the teacher's
    (:func:`~mmkd.models.losses.similarity_preserving_loss`): ``loss_sp``. The paper's batch is
    the images of a classification batch; on a detector it is the objects, so two objects
    alike for the teacher are alike for the student.

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        loss_weight (float): the paper's ``gamma``, 3000.
        strides, output_size: see :class:`ObjectRelationDistiller`.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck',
                 loss_weight: float = 3000.0, strides: Optional[Sequence[int]] = None,
                 output_size: int = 7, init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, output_size, init_cfg)

    def relation_losses(self, student, teacher):
        return dict(loss_sp=similarity_preserving_loss(student, teacher))
