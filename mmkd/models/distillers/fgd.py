"""FGD: focal and global distillation (Yang et al., CVPR 2022) on a feature pyramid."""
from typing import Optional, Sequence

from mmcv.cnn import ContextBlock
from mmdet.structures.bbox import get_box_tensor
from torch import nn

from mmkd.registry import MODELS
from ..losses import box_masks, focal_losses
from .paired_levels import PairedLevelsDistiller


@MODELS.register_module()
class FGD(PairedLevelsDistiller):
    """Focal and global distillation on each level shared by stride, the student's map through
    a 1x1 conv where the widths differ.

    Focal (:func:`~mmkd.models.losses.focal_losses`): the squared error weighted by the
    teacher's spatial and channel attention, separately inside the ground-truth boxes (each box
    scaled by its area) and outside them (``alpha``, ``beta``), plus the L1 between the two
    models' attention (``gamma``). Global: the squared error between the two maps after a
    GcBlock each (mmcv's ``ContextBlock``, ratio 0.5; both blocks train, the teacher's map
    stays frozen) (``lambda_``). Logged per term, summed over the levels:
    ``loss_fgd_fg``, ``loss_fgd_bg``, ``loss_fgd_attention``, ``loss_fgd_global``.

    The ground-truth boxes are those the student's ``loss`` receives (a tap on its inputs).

    Args:
        student, teacher (str): modules returning a tuple of levels. Default ``'neck'``.
        temperature (float): of the attention; 0.5 in the paper's configs.
        alpha, beta, gamma, lambda_ (float): weights of the foreground, background, attention
            and global terms; the defaults are the authors' Faster R-CNN configs (COCO; their
            RetinaNet and GFL configs: 1e-3, 5e-4, 5e-4, 5e-6). The terms are sums over
            channels and positions, so their scale follows the map size and the teacher's
            activations (``tools/inspect_distill.py``'s loss scales).
        loss_weight (float): multiplies all four terms. Default 1.
        strides (Sequence[int], optional): distil these strides only. Default: all shared (the
            authors' Faster R-CNN configs take P2-P5, strides 4-32).
        connector (str): ``'if_widths_differ'`` (default) or ``'always'``.
    """

    def __init__(self, student: str = 'neck', teacher: str = 'neck', temperature: float = 0.5,
                 alpha: float = 5e-5, beta: float = 2.5e-5, gamma: float = 5e-5,
                 lambda_: float = 5e-7, loss_weight: float = 1.0,
                 strides: Optional[Sequence[int]] = None, connector: str = 'if_widths_differ',
                 init_cfg=None):
        super().__init__(student, teacher, loss_weight, strides, connector, init_cfg=init_cfg)
        self.student_taps['samples'] = 'loss'
        self.temperature = temperature
        self.weights = dict(fg=alpha, bg=beta, attention=gamma, **{'global': lambda_})
        self.student_context = nn.ModuleList()
        self.teacher_context = nn.ModuleList()

    def setup(self, student_records, teacher_records, student_model=None, teacher_model=None):
        super().setup(student_records, teacher_records, student_model, teacher_model)
        widths = [teacher_records['feats'][pair.teacher].shape[1] for pair in self.pairs]
        self.student_context = nn.ModuleList(ContextBlock(width, 0.5) for width in widths)
        self.teacher_context = nn.ModuleList(ContextBlock(width, 0.5) for width in widths)

    def loss(self, student_records, teacher_records):
        samples = student_records['samples']['inputs']['batch_data_samples']
        boxes = [get_box_tensor(sample.gt_instances.bboxes) for sample in samples]
        terms = dict.fromkeys(self.weights, 0)
        for (pair, student, teacher), student_context, teacher_context in zip(
                self.aligned_levels(student_records, teacher_records), self.student_context,
                self.teacher_context):
            foreground, background = box_masks(boxes, pair.stride, teacher.shape[-2:])
            foreground, background = foreground.to(teacher), background.to(teacher)
            fg, bg, attention = focal_losses(student, teacher, foreground, background,
                                             self.temperature)
            # not squared_error_per_image, which detaches its second map: the teacher's
            # GcBlock trains through this term (the teacher's map itself stays frozen)
            relation = (student_context(student.contiguous())
                        - teacher_context(teacher.detach().contiguous())).pow(2).sum() \
                / student.shape[0]
            for name, value in zip(terms, (fg, bg, attention, relation)):
                terms[name] = terms[name] + value
        return {f'loss_fgd_{name}': self.weights[name] * value for name, value in terms.items()}
