"""KD-DETR (Wang et al., CVPR 2024): consistent distillation points for DETR-family students."""
from typing import Optional

import torch

from mmkd.registry import MODELS
from ..detr_queries import sigmoid_scores
from ..losses import query_kd_losses, teacher_confidence
from .query_distiller import QueryDistiller


@MODELS.register_module()
class KDDETR(QueryDistiller):
    """The student's decoder and the teacher's answer the same extra queries (distillation
    points) in the same step; on each point the student's class scores and box learn the
    teacher's.

    Two sets of points, each decoded by both models in a pass of its own (see
    :mod:`mmkd.models.detr_queries`: the student's regular queries and their Hungarian-matched
    loss are untouched):

    * **general** points, ``num_general`` of them drawn anew every step: boxes with centre and
      size uniform in [0, 1] (DAB-DETR, DINO, two-stage Deformable DETR), or vectors of the
      query width drawn from N(0, 1), as ``nn.Embedding`` initialises queries (DETR, Conditional
      DETR, Deformable DETR);
    * **specific** points: the teacher's own queries of the step (its learned queries or its
      encoder's proposals), the ``num_specific`` it scores highest (all of them by default).

    On each set, every decoder layer of the student learns the teacher's last layer
    (:func:`~mmkd.models.losses.query_kd_losses`, weighted by the teacher's confidence on the
    point): ``loss_kddetr_<set>_cls`` (times ``cls_weight``), ``..._l1`` (``l1_weight``) and
    ``..._giou`` (``giou_weight``). The defaults are the authors' (``Myleswork/KD-DETR``):
    ``T = 10``, weights 1, 5 and 2.

    Both models must be DETR-family detectors whose points are of one kind and width (boxes
    with boxes; query vectors of one width) with the same classes and the same sigmoid or
    softmax scores (checked at build).

    Args:
        num_general (int): general points per image. Default 300, the paper's choice.
        num_specific (int, optional): the teacher's queries used as specific points, its
            highest-scoring first; None: all of them.
        temperature (float): ``T`` of the class term. Default 10.
        cls_weight, l1_weight, giou_weight (float): the terms' weights. Default 1, 5, 2.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    teacher_work = ('backbone + neck + encoder + decoder on its own queries and on the '
                    'distillation points')

    def __init__(self, num_general: int = 300, num_specific: Optional[int] = None,
                 temperature: float = 10.0, cls_weight: float = 1.0, l1_weight: float = 5.0,
                 giou_weight: float = 2.0, loss_weight: float = 1.0, neck: str = 'neck',
                 init_cfg=None):
        super().__init__(dict(transformer='forward_transformer', decoder='forward_decoder'),
                         dict(feats=neck), loss_weight, init_cfg)
        if num_general < 0 or (num_specific is not None and num_specific < 0):
            raise ValueError(f'num_general={num_general} and num_specific={num_specific} '
                             f'count points: give numbers >= 0 (num_specific None: all)')
        if num_general == 0 and num_specific == 0:
            raise ValueError('num_general=0 and num_specific=0 leave no distillation point')
        self.num_general, self.num_specific = num_general, num_specific
        self.temperature = temperature
        self.weights = dict(cls=cls_weight, l1=l1_weight, giou=giou_weight)

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        super().setup(student_records, teacher_records, student_model, teacher_model)
        self.check_shared_points(student_model, teacher_model, scores=True)
        self.sigmoid = sigmoid_scores(teacher_model)
        self.point_width = self.student_queries.point_width(student_model)

    def general_points(self, batch_size: int, device: torch.device) -> torch.Tensor:
        """(N, num_general, D) points drawn for this step."""
        shape = (batch_size, self.num_general, self.point_width)
        if self.student_queries.point_kind == 'box':
            return torch.rand(shape, device=device)
        return torch.randn(shape, device=device)

    def specific_points(self, own: dict) -> dict:
        """The teacher's own queries (``own``: :meth:`teacher_answers`), its ``num_specific``
        highest-scoring: their points (N, K, D), or with all of them, also its answers."""
        points = own['points']
        if self.num_specific is None or self.num_specific >= points.shape[1]:
            return own
        confidence = teacher_confidence(own['scores'][-1].flatten(0, 1), self.sigmoid)
        top = confidence.view(points.shape[:2]).topk(self.num_specific, dim=1).indices
        return dict(points=points.gather(1, top[..., None].expand(-1, -1, points.shape[-1])))

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's transformer on its neck features, then its last decoder layer's
        class scores (N, P, C) and boxes (N, P, 4) on each set of points (a subset of its
        own queries decoded as a set of its own: they attend to each other only)."""
        detector = teacher.detector
        own = self.teacher_answers(student_records, teacher_records, teacher)
        point_sets = {}
        if self.num_general:
            memory = own['inputs']['memory']
            point_sets['general'] = dict(points=self.general_points(len(memory),
                                                                    memory.device))
        if self.num_specific != 0:
            point_sets['specific'] = self.specific_points(own)
        answers = {}
        for name, point_set in point_sets.items():
            if 'scores' in point_set:
                scores, boxes = point_set['scores'], point_set['boxes']
            else:
                scores, boxes = self.teacher_queries.decode(detector, own['inputs'],
                                                            point_set['points'])
            answers[name] = dict(points=point_set['points'], scores=scores[-1],
                                 boxes=boxes[-1])
        return answers

    def loss(self, student_records, teacher_records):
        student = self.student
        inputs = self.student_decoder_inputs(student_records)
        losses = {}
        for name in ('general', 'specific'):
            if name not in teacher_records:
                continue
            answer = teacher_records[name]
            scores, boxes = self.student_queries.decode(student, inputs, answer['points'])
            terms = query_kd_losses(scores.flatten(1, 2), boxes.flatten(1, 2),
                                    answer['scores'].flatten(0, 1),
                                    answer['boxes'].flatten(0, 1), self.temperature,
                                    self.sigmoid)
            losses.update({f'loss_kddetr_{name}_{term}': self.weights[term] * value
                           for term, value in terms.items()})
        return losses
