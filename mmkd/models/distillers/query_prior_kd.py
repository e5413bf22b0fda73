"""DETRDistill's query-prior assignment distillation (Chang et al., ICCV 2023)."""
from contextlib import contextmanager

from torch import nn

from mmkd.registry import MODELS
from .query_distiller import QueryDistiller


@contextmanager
def fixed_targets(head: nn.Module, targets: tuple):
    """Within the block the head's ``get_targets`` answers ``targets`` whatever predictions it
    is given, so its own ``loss_by_feat_single`` (its loss weights, normalisers and box
    conversions) scores predictions against an assignment made elsewhere."""
    head.get_targets = lambda *args, **kwargs: targets
    try:
        yield
    finally:
        del head.get_targets


@MODELS.register_module()
class QueryPriorAssignmentKD(QueryDistiller):
    """The teacher's queries, decoded by the student as a group of their own, learn the
    ground truth.

    In each step the teacher's own queries of the step (its learned queries, or its encoder's
    proposals; see :mod:`mmkd.models.detr_queries`) are handed to the student's decoder in a
    pass of its own, beside its regular queries (whose matching and loss are untouched). Each
    decoder layer's predictions on them get the student head's own detection loss
    (``loss_by_feat_single``: its class, L1 and GIoU losses and weights) against the ground
    truth, assigned by ``assignment``:

    * ``'teacher'`` (the paper): the teacher's predictions on those queries matched to the
      ground truth by the student head's Hungarian assigner, layer ``l`` by the teacher's layer
      ``l`` (its last where the depths differ): a stable assignment the student follows;
    * ``'student'`` (the authors' released code, ``forward_train_teacher_group``, which does
      not pass the teacher's assignment on): the student's own predictions on them matched.

    Logged as ``loss_query_prior_cls``, ``..._bbox`` and ``..._iou``, each summed over the
    student's decoder layers, as mmdet sums its ``d<i>.`` losses.

    Both models must be DETR-family detectors that take points of one kind and width (boxes
    with boxes; query vectors of one width); ``'teacher'`` also needs the same classes scored
    the same way (checked at build). On box queries (DINO, DAB-DETR, two-stage Deformable DETR)
    the student brings its own content part, as on its own queries.

    Args:
        assignment (str): ``'teacher'`` (default) or ``'student'``.
        loss_weight (float): multiplies the three losses. Default 1.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    teacher_work = 'backbone + neck + encoder + decoder on its own queries'
    ASSIGNMENTS = ('teacher', 'student')

    def __init__(self, assignment: str = 'teacher', loss_weight: float = 1.0,
                 neck: str = 'neck', init_cfg=None):
        super().__init__(dict(transformer='forward_transformer', decoder='forward_decoder'),
                         dict(feats=neck), loss_weight, init_cfg)
        if assignment not in self.ASSIGNMENTS:
            raise ValueError(f'QueryPriorAssignmentKD assignment={assignment!r}: choose from '
                             f'{self.ASSIGNMENTS}')
        self.assignment = assignment

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        super().setup(student_records, teacher_records, student_model, teacher_model)
        self.check_shared_points(student_model, teacher_model,
                                 scores=self.assignment == 'teacher')
        self.same_depth = student_model.decoder.num_layers == teacher_model.decoder.num_layers

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's own queries as points (N, Q, D); with the teacher's assignment also
        its class scores (L, N, Q, C) and boxes (L, N, Q, 4) on them."""
        answers = self.teacher_answers(student_records, teacher_records, teacher)
        if self.assignment == 'student':
            return dict(points=answers['points'])
        return {key: answers[key] for key in ('points', 'scores', 'boxes')}

    def loss(self, student_records, teacher_records):
        student = self.student
        head = student.bbox_head
        samples = student_records['transformer']['inputs']['batch_data_samples']
        gt_instances = [sample.gt_instances for sample in samples]
        metas = [sample.metainfo for sample in samples]
        scores, boxes = self.student_queries.decode(
            student, self.student_decoder_inputs(student_records), teacher_records['points'])
        totals = dict(cls=0, bbox=0, iou=0)
        for layer in range(len(scores)):
            if self.assignment == 'teacher':
                source = layer if self.same_depth else -1
                targets = head.get_targets(list(teacher_records['scores'][source]),
                                           list(teacher_records['boxes'][source]),
                                           gt_instances, metas)
                with fixed_targets(head, targets):
                    terms = head.loss_by_feat_single(scores[layer], boxes[layer],
                                                     gt_instances, metas)
            else:
                terms = head.loss_by_feat_single(scores[layer], boxes[layer], gt_instances,
                                                 metas)
            totals = {name: totals[name] + value for name, value in zip(totals, terms)}
        return {f'loss_query_prior_{name}': value for name, value in totals.items()}
