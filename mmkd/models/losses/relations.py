"""Losses on the relations between the objects of a batch, not on each object: relational KD
(Park et al., "RKD", CVPR 2019) and similarity preserving KD (Tung and Mori, "SP", ICCV 2019).

Each takes (K, D) embeddings, one row per object; the student's and the teacher's D may differ,
since only K x K (or K x K x K) relations are compared. The teacher's side is detached.
"""
import torch
import torch.nn.functional as F


def _zero(embeddings: torch.Tensor) -> torch.Tensor:
    return embeddings.sum() * 0     # no relation to compare: zero, still in the graph


def normalised_distances(embeddings: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """RKD's distance potential: ``||e_i - e_j||_2 / mu``, ``mu`` the mean of the positive
    distances (the pairs ``i != j`` of distinct embeddings), as the authors' code.
    (K, D) -> (K, K), zero on the diagonal."""
    # without the matrix-product shortcut, so that the diagonal is exactly 0
    distances = torch.cdist(embeddings, embeddings,
                            compute_mode='donot_use_mm_for_euclid_dist')
    positive = distances > 0
    mu = distances.sum() / positive.sum().clamp(min=1)
    return distances / mu.clamp(min=eps)


def triplet_angles(embeddings: torch.Tensor) -> torch.Tensor:
    """RKD's angle potential: ``<e_ij, e_kj>`` with ``e_ij = (x_i - x_j) / ||x_i - x_j||``, the
    cosine of the angle at ``x_j`` of every triplet. (K, D) -> (K, K, K) indexed ``[j, i, k]``
    (zero where two of the points coincide)."""
    directions = F.normalize(embeddings.unsqueeze(0) - embeddings.unsqueeze(1), dim=2)
    return torch.bmm(directions, directions.transpose(1, 2))


def rkd_distance_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Huber loss (delta 1) between the two models' normalised distances, averaged over all
    ``K^2`` entries of the (K, K) matrices, the diagonal's zeros included, as the authors'
    code (lenscloth/RKD ``RkdDistance``); zero with fewer than 2 objects."""
    if student.shape[0] < 2:
        return _zero(student)
    with torch.no_grad():
        target = normalised_distances(teacher.detach())
    return F.smooth_l1_loss(normalised_distances(student), target)


def rkd_angle_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Huber loss (delta 1) between the two models' triplet angles, averaged over all ``K^3``
    entries of the (K, K, K) cosines, as the authors' code (lenscloth/RKD ``RKdAngle``): a
    triplet with a repeated object has the same cosine (0 or 1) in both models and adds 0 to
    the sum, K^3 to the count. Zero with fewer than 3 objects."""
    if student.shape[0] < 3:
        return _zero(student)
    with torch.no_grad():
        target = triplet_angles(teacher.detach())
    return F.smooth_l1_loss(triplet_angles(student), target)


def similarity_matrix(embeddings: torch.Tensor) -> torch.Tensor:
    """SP's ``G = Q Q^T`` with each row L2-normalised. (K, D) -> (K, K)."""
    return F.normalize(embeddings @ embeddings.t(), dim=1)


def similarity_preserving_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``||G_T - G_S||_F^2 / K^2`` (:func:`similarity_matrix`); zero with no object."""
    count = student.shape[0]
    if count == 0:
        return _zero(student)
    with torch.no_grad():
        target = similarity_matrix(teacher.detach())
    return (target - similarity_matrix(student)).pow(2).sum() / count ** 2
