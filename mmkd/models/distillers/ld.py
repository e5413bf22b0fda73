"""LD: localization distillation (Zheng et al., CVPR 2022) for distribution box heads (GFL)."""
import torch
from mmdet.models.losses import KnowledgeDistillationKLDivLoss

from mmkd.registry import MODELS
from .alignment import paired_heads, require_head_kind
from .base import BaseDistiller


def positive_locations(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Indices of the positive priors in a level's flattened (N * priors) labels (the
    background label is ``num_classes``, ignored ones negative)."""
    labels = labels.reshape(-1)
    return ((labels >= 0) & (labels < num_classes)).nonzero().squeeze(1)


def flat_locations(maps: torch.Tensor, per_location: int) -> torch.Tensor:
    """(N, A * K, H, W) head outputs -> (N * H * W * A, K), mmdet's prior order."""
    return maps.permute(0, 2, 3, 1).reshape(-1, per_location)


@MODELS.register_module()
class LD(BaseDistiller):
    """The student's box-edge distributions learn the teacher's on the student's positive
    priors (LD's main distillation region), as mmdet's ``LDHead``: for each positive prior and
    each of its four edges, ``KL(softmax(z_T / T) || softmax(z_S / T)) T^2`` averaged over the
    ``reg_max + 1`` bins (mmdet's ``KnowledgeDistillationKLDivLoss``), weighted by the student's
    detached top class score there, summed over the priors and levels and divided by 4 (per
    box); logged as ``loss_ld``.

    Both heads must be distribution heads (mmdet's ``GFLHead`` or a subclass) with one
    ``reg_max`` and one prior layout (checked at build), so they pair location by location.
    The teacher runs its head on its own neck; the student's head outputs and assigned targets
    are read from its own loss forward (taps on ``bbox_head`` and ``bbox_head.get_targets``).
    The valuable localization region of the paper (LD on high-IoU negatives) is not part of
    mmdet's ``LDHead`` and not here either.

    Nor is the authors' class KD on the main region: HikariTJU/LD's ``LDHead``
    (``mmdet/models/dense_heads/ld_head.py``) builds ``loss_kd`` by default as
    ``KnowledgeDistillationKLDivLoss(loss_weight=10, T=2)``, which
    ``configs/ld/ld_r18_gflv1_r101_fpn_coco_1x.py`` inherits and
    ``configs/ld/ld_r50_gflv1_r101_fpn_coco_1x.py`` states: on each level's positive priors,
    the teacher's and student's C class logits each softmaxed,
    ``T^2 KL(softmax(t / T) || softmax(s / T))`` averaged over the classes, times the label
    weight, divided by that level's positives (the same term on the valuable localization
    region is multiplied by 0). mmdet 3.3's ``LDHead`` and ``configs/ld`` (what this
    class follows) leave it out, and so does this class: its loss is the box term alone. A
    user who wants class KD as well lists a second distiller beside it, e.g.
    ``dict(type='mmkd.DenseLogitKD', temperature=2.0, loss_weight=...)`` (GFL heads pair with
    it: ``configs/logitkd_gfl.py``), which is not the authors' term: it covers every prior, not
    the positives, with the per-class binary KL of a sigmoid head summed over the classes, and
    averages over all priors, so its weight is not comparable with their 10.

    Args:
        temperature (float): ``T``; 10 in mmdet's LD config.
        loss_weight (float): 0.25 in mmdet's LD config.
        head (str): the dense head's path in both models. Default ``'bbox_head'``.
        neck (str): the teacher's neck, which its head reads. Default ``'neck'``.
    """

    teacher_work = 'backbone + neck + dense head'
    averages_teachers = False     # its teacher records are a head's outputs

    def __init__(self, temperature: float = 10.0, loss_weight: float = 0.25,
                 head: str = 'bbox_head', neck: str = 'neck', init_cfg=None):
        super().__init__(dict(outputs=head, targets=f'{head}.get_targets'), dict(feats=neck),
                         loss_weight, init_cfg)
        self.head_path = head
        self.kl = KnowledgeDistillationKLDivLoss(loss_weight=1.0, T=temperature)

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        name = type(self).__name__
        require_head_kind(student_model, teacher_model, self.head_path, name, 'reg_max',
                          "a distribution box head such as mmdet's GFLHead")
        heads = paired_heads(student_model, teacher_model, self.head_path, name,
                             same=('reg_max', 'num_base_priors'), anchors=True)
        self.bins = heads[0].reg_max + 1
        self.num_classes = heads[0].num_classes

    def teacher_forward(self, student_records, teacher_records, teacher):
        cls_scores, bbox_preds = teacher.module(self.head_path)(teacher_records['feats'])
        return dict(cls_scores=cls_scores, bbox_preds=bbox_preds)

    def loss(self, student_records, teacher_records):
        cls_scores, bbox_preds = student_records['outputs'][:2]
        labels = student_records['targets']['result'][1]
        total = bbox_preds[0].new_zeros(())
        for cls_score, student, teacher, level_labels in zip(
                cls_scores, bbox_preds, teacher_records['bbox_preds'], labels):
            positive = positive_locations(level_labels, self.num_classes)
            if not len(positive):
                total = total + student.sum() * 0
                continue
            weight = flat_locations(cls_score.detach(), self.num_classes)[positive] \
                .sigmoid().max(dim=1).values
            total = total + self.kl(
                flat_locations(student, 4 * self.bins)[positive].reshape(-1, self.bins),
                flat_locations(teacher, 4 * self.bins)[positive].reshape(-1, self.bins),
                weight=weight.repeat_interleave(4), avg_factor=4.0)
        return dict(loss_ld=total)
