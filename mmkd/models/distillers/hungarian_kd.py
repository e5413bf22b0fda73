"""DETRDistill's Hungarian-matching logits distillation (Chang et al., ICCV 2023)."""
from mmkd.registry import MODELS
from ..detr_queries import sigmoid_scores
from ..losses import matched_logit_losses
from .query_distiller import QueryDistiller


@MODELS.register_module()
class HungarianKD(QueryDistiller):
    """The teacher's predictions as targets for the student's, matched one to one by the
    Hungarian algorithm, decoder layer by decoder layer.

    In each training step the teacher decodes its own queries (its whole transformer, in eval
    mode); each of the student's decoder layers, on its regular queries (DINO's denoising ones
    apart), is matched to the same layer of the teacher (``layer_by_layer``; else to the
    teacher's last) at the cost ``class + 5 L1 + 2 (-GIoU)``, the class cost the binary
    cross-entropy with the teacher's class probabilities as targets; on the matched pairs
    (:func:`~mmkd.models.losses.matched_logit_losses`):

    * ``loss_hungarian_kd_cls``: that cross-entropy, summed over the classes, per pair, times
      ``cls_weight`` (softmax heads: the cross-entropy with the teacher's softmax);
    * ``loss_hungarian_kd_l1``: L1 of the normalised boxes, times ``l1_weight``;
    * ``loss_hungarian_kd_giou``: ``1 - GIoU`` of the boxes, times ``giou_weight``;

    each averaged over the matched pairs and summed over the layers. The student's own
    queries, their matching to the ground truth and its detection loss are as without
    distillation. The defaults are the authors' (``BIVLab-USTC/DETRDistill``, Deformable DETR:
    matching and loss weights 1, 5, 2; every teacher query, no score threshold).

    DETRDistill's two other terms are :class:`TargetAwareFeatureKD` and
    :class:`QueryPriorAssignmentKD`.

    Args:
        layer_by_layer (bool): student layer ``l`` learns teacher layer ``l`` (both decoders
            of one depth); False: every student layer learns the teacher's last. Default True.
        cls_weight, l1_weight, giou_weight (float): the weights of the matching cost and of the
            three losses. Default 1, 5, 2.
        neck (str): the teacher's neck. Default ``'neck'``.
    """

    teacher_work = 'backbone + neck + encoder + decoder on its own queries'

    def __init__(self, layer_by_layer: bool = True, cls_weight: float = 1.0,
                 l1_weight: float = 5.0, giou_weight: float = 2.0, loss_weight: float = 1.0,
                 neck: str = 'neck', init_cfg=None):
        super().__init__(dict(transformer='forward_transformer', outputs='bbox_head'),
                         dict(feats=neck), loss_weight, init_cfg)
        self.layer_by_layer = layer_by_layer
        self.weights = dict(cls=cls_weight, l1=l1_weight, giou=giou_weight)

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        super().setup(student_records, teacher_records, student_model, teacher_model)
        heads = student_model.bbox_head, teacher_model.bbox_head
        sigmoid = [sigmoid_scores(model) for model in (student_model, teacher_model)]
        depths = [model.decoder.num_layers for model in (student_model, teacher_model)]
        if heads[0].num_classes != heads[1].num_classes or sigmoid[0] != sigmoid[1]:
            raise ValueError(f'HungarianKD takes the teacher\'s class probabilities as targets, '
                             f'so both heads must score the same classes the same way: student '
                             f'{heads[0].num_classes} classes, '
                             f'{"sigmoid" if sigmoid[0] else "softmax"}; teacher '
                             f'{heads[1].num_classes}, {"sigmoid" if sigmoid[1] else "softmax"}')
        if self.layer_by_layer and depths[0] != depths[1]:
            raise ValueError(f'layer_by_layer=True pairs the decoders layer by layer, but the '
                             f'student has {depths[0]} decoder layers and the teacher '
                             f'{depths[1]}: set layer_by_layer=False (every student layer '
                             f'learns the teacher\'s last)')
        self.sigmoid = sigmoid[1]

    def teacher_forward(self, student_records, teacher_records, teacher):
        """The teacher's class probabilities (L, N, Q, C) and boxes (L, N, Q, 4) of each of its
        decoder layers, on its own queries."""
        answers = self.teacher_answers(student_records, teacher_records, teacher)
        scores, boxes = answers['scores'], answers['boxes']
        probabilities = scores.sigmoid() if self.sigmoid else scores.softmax(dim=-1)
        return dict(probabilities=probabilities, boxes=boxes)

    def loss(self, student_records, teacher_records):
        scores, boxes = self.student_queries.matching_part(self.student,
                                                           student_records['outputs'])
        losses = dict(cls=0, l1=0, giou=0)
        for layer in range(len(scores)):
            target = layer if self.layer_by_layer else -1
            terms = matched_logit_losses(scores[layer], boxes[layer],
                                         teacher_records['probabilities'][target],
                                         teacher_records['boxes'][target], self.sigmoid,
                                         self.weights)
            losses = {name: losses[name] + value for name, value in terms.items()}
        return {f'loss_hungarian_kd_{name}': self.weights[name] * value
                for name, value in losses.items()}
