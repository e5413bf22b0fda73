"""DETRDistill's target-aware feature distillation (Chang et al., ICCV 2023): the teacher's
best decoder queries say where on its feature maps the objects are."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps


def query_quality(probabilities: torch.Tensor, boxes: torch.Tensor,
                  gt_boxes: List[torch.Tensor], num_selected: int
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The teacher's ``num_selected`` best (query, class) predictions per image and their
    quality: the class probability times the box's largest IoU with a ground-truth box (the
    probability alone for an image without boxes).

    Args:
        probabilities: (N, Q, C) the teacher's class probabilities (no "no object" column).
        boxes: (N, Q, 4) its boxes, normalised ``(cx, cy, w, h)``.
        gt_boxes: per image (G_i, 4) ground-truth boxes, normalised ``(x1, y1, x2, y2)``
            (IoU is unchanged by scaling each axis, so normalised boxes give the pixel IoU).
        num_selected: K; at most Q * C are taken.

    Returns:
        (N, K) the query index of each selection (a query may be selected for several
        classes), (N, K) its quality in [0, 1].
    """
    num_selected = min(num_selected, probabilities.shape[1] * probabilities.shape[2])
    scores, flat = probabilities.flatten(1).topk(num_selected, dim=1)
    queries = flat // probabilities.shape[2]
    qualities = []
    for image_scores, image_queries, image_boxes, image_gt in zip(scores, queries, boxes,
                                                                  gt_boxes):
        if len(image_gt) == 0:
            qualities.append(image_scores)
            continue
        selected = bbox_cxcywh_to_xyxy(image_boxes[image_queries])
        best_iou = bbox_overlaps(selected, image_gt.to(selected)).max(dim=1).values
        qualities.append(image_scores * best_iou)
    return queries, torch.stack(qualities)


def query_prior_mask(queries: torch.Tensor, qualities: torch.Tensor,
                     teacher_map: torch.Tensor, floor: float = 1e-2) -> torch.Tensor:
    """Where the selected queries look on one teacher map: at each position the
    quality-weighted sum of the cosine similarities between each query and the map's feature
    vector there, clamped below at ``floor`` and divided by its largest value in the image.

    Args:
        queries: (N, K, D) the selected queries' decoder embeddings.
        qualities: (N, K) their weights (:func:`query_quality`).
        teacher_map: (N, D, H, W), the teacher's neck level, of the decoder's width.

    Returns:
        (N, 1, H, W) weights in [floor / max, 1], 1 at each image's most attended position.
    """
    similarity = torch.einsum('nkd,ndhw->nkhw', F.normalize(queries, dim=-1),
                              F.normalize(teacher_map, dim=1))
    mask = torch.einsum('nkhw,nk->nhw', similarity, qualities).clamp(min=floor)
    return (mask / mask.flatten(1).max(dim=1).values[:, None, None])[:, None]


def masked_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor
               ) -> torch.Tensor:
    """Mean over every element of ``(mask * (teacher - student)) ** 2`` for (N, C, H, W) maps
    and an (N, 1, H, W) mask; the teacher's side carries no gradient."""
    return (mask * (teacher.detach() - student)).pow(2).mean()
