"""Query-level taps for mmdet's DETR family: a detector's decoder and head run on extra queries.

A DETR-style detector answers object queries: its decoder reads the encoder's memory through
them, its head turns each into class scores and a box. Query-level distillation feeds both
models the **same** extra queries (distillation points) and compares their answers. What a
query is differs by family, so each family has a :class:`DecoderQueries` that says

* what a point is: a box (normalised ``(cx, cy, w, h)`` in [0, 1]) for the families whose
  queries start from a box (DAB-DETR, DINO, two-stage Deformable DETR), a vector of the query
  embedding's width for the others (DETR, Conditional DETR, Deformable DETR);
* the points the model itself decodes in a step (its own queries);
* how points become the keyword arguments of the detector's own ``forward_decoder``, so the
  decoder runs through the detector's own modules, on the memory of the step.

Points are decoded in a pass of their own, never next to the regular queries, so the
detection loss and its Hungarian matching see exactly what they see without distillation (as
an attention mask between the two groups would make it: no query attends across).

The families are registered by detector class; a subclass of a registered class (a user's
own DINO variant, say) finds its parent's entry.
"""
import functools
import inspect
from typing import Dict, List, Tuple, Type

import torch
from mmdet.models.layers.transformer.utils import inverse_sigmoid
from torch import nn

_FAMILIES: Dict[str, List[Type['DecoderQueries']]] = {}


def register_family(*class_names: str):
    """Register a :class:`DecoderQueries` for the detectors named (class names); of several
    for one class, the first whose ``applies`` accepts the detector is used."""
    def register(cls):
        for name in class_names:
            _FAMILIES.setdefault(name, []).append(cls)
        return cls
    return register


def decoder_queries(detector: nn.Module, side: str = 'model') -> 'DecoderQueries':
    """The :class:`DecoderQueries` of ``detector``'s family (by its class or a parent class).

    Raises:
        ValueError: no DETR family is registered for it (the message lists those that are).
    """
    for cls in type(detector).__mro__:
        for entry in _FAMILIES.get(cls.__name__, ()):
            if entry.applies(detector):
                return entry()
    raise ValueError(f'the {side} ({type(detector).__name__}) is not a DETR-family detector '
                     f'that query-level distillation can run: known families {sorted(_FAMILIES)}')


def sigmoid_scores(detector: nn.Module) -> bool:
    """Whether the detector's head scores classes by sigmoid (else softmax, no-object last)."""
    return bool(detector.bbox_head.loss_cls.use_sigmoid)


def check_detr_pair(student: nn.Module, teacher: nn.Module) -> None:
    """Raise the ValueError of :func:`decoder_queries` where either model is not a DETR-family
    detector that query-level distillation can run."""
    decoder_queries(student, 'student')
    decoder_queries(teacher, 'teacher')


class DecoderQueries:
    """How one family's decoder is run on distillation points (see the module's docstring).

    Attributes:
        point_kind (str): ``'box'`` or ``'embedding'``.
    """

    point_kind = 'embedding'

    @classmethod
    def applies(cls, detector: nn.Module) -> bool:
        return True

    def point_width(self, detector: nn.Module) -> int:
        """The number of values a point has (4 for a box)."""
        return 4

    def own_points(self, detector: nn.Module, decoder_inputs: dict) -> torch.Tensor:
        """(N, Q, D) the points of the model's own queries in ``decoder_inputs`` (what its
        ``pre_decoder`` made in this step)."""
        raise NotImplementedError

    def decoder_inputs(self, detector: nn.Module, decoder_inputs: dict,
                       points: torch.Tensor) -> dict:
        """``forward_decoder``'s keyword arguments for (N, P, D) ``points``, the memory and
        the rest taken from ``decoder_inputs``."""
        raise NotImplementedError

    def matching_part(self, detector: nn.Module, head_outputs):
        """Of the head's outputs in a training step (class scores and boxes, each (L, N, Q, .)),
        those of the queries its Hungarian matching reads: all of them but DINO's denoising
        queries."""
        return head_outputs

    def decode(self, detector: nn.Module, decoder_inputs: dict,
               points: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The detector's answers to ``points``: class scores (L, N, P, C) and boxes
        (L, N, P, 4), normalised ``(cx, cy, w, h)``, of each of its L decoder layers."""
        return self.decode_states(detector, decoder_inputs, points)[1:]

    def decode_states(self, detector: nn.Module, decoder_inputs: dict, points: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """As :meth:`decode`, with the decoder's hidden states first: (L, N, P, D), what each
        layer hands its head."""
        outputs = detector.forward_decoder(**self.decoder_inputs(detector, decoder_inputs,
                                                                 points))
        head = detector.bbox_head
        states = outputs['hidden_states']
        if _head_reads_references(type(head)):
            return (states, *head(states, outputs['references']))
        return (states, *head(states))


@functools.lru_cache(maxsize=None)
def _head_reads_references(head_class: type) -> bool:
    """Whether the head's forward takes the decoder's reference boxes (the families that
    refine boxes layer by layer)."""
    return 'references' in inspect.signature(head_class.forward).parameters


def _content_zeros(points: torch.Tensor, detector: nn.Module) -> torch.Tensor:
    return points.new_zeros(*points.shape[:2], detector.embed_dims)


@register_family('DETR', 'ConditionalDETR')
class PositionalQueries(DecoderQueries):
    """DETR and Conditional DETR: a query is a positional embedding (``query_pos``), its
    content starts at zero; a point is such an embedding."""

    def point_width(self, detector):
        return detector.embed_dims

    def own_points(self, detector, decoder_inputs):
        return decoder_inputs['query_pos']

    def decoder_inputs(self, detector, decoder_inputs, points):
        return dict(decoder_inputs, query=_content_zeros(points, detector), query_pos=points)


@register_family('DABDETR')
class AnchorBoxQueries(DecoderQueries):
    """DAB-DETR: a query is an anchor box (``query_pos``, 4 values before the sigmoid), its
    content starts at zero; a point is the box."""

    point_kind = 'box'

    def own_points(self, detector, decoder_inputs):
        return decoder_inputs['query_pos'].sigmoid()

    def decoder_inputs(self, detector, decoder_inputs, points):
        return dict(decoder_inputs, query=_content_zeros(points, detector),
                    query_pos=inverse_sigmoid(points))


@register_family('DeformableDETR')
class DeformableQueries(DecoderQueries):
    """Deformable DETR (one stage): a query is one learned vector of twice the width, split
    into positional and content halves; its reference point comes from the positional half
    (``reference_points_fc``). A point is such a vector."""

    @classmethod
    def applies(cls, detector):
        return not detector.as_two_stage

    def point_width(self, detector):
        return 2 * detector.embed_dims

    def own_points(self, detector, decoder_inputs):
        return torch.cat([decoder_inputs['query_pos'], decoder_inputs['query']], dim=-1)

    def decoder_inputs(self, detector, decoder_inputs, points):
        query_pos, query = points.split(detector.embed_dims, dim=-1)
        return dict(decoder_inputs, query=query, query_pos=query_pos,
                    reference_points=detector.reference_points_fc(query_pos).sigmoid())


@register_family('DeformableDETR')
class TwoStageQueries(DeformableQueries):
    """Two-stage Deformable DETR: a query is a box (its encoder's proposal); its positional
    and content halves are the box's sine encoding through ``pos_trans_fc``, as its
    ``pre_decoder`` makes them. A point is the box."""

    point_kind = 'box'

    @classmethod
    def applies(cls, detector):
        return detector.as_two_stage

    def point_width(self, detector):
        return 4

    def own_points(self, detector, decoder_inputs):
        return decoder_inputs['reference_points']

    def decoder_inputs(self, detector, decoder_inputs, points):
        encoded = detector.pos_trans_norm(detector.pos_trans_fc(
            detector.get_proposal_pos_embed(inverse_sigmoid(points))))
        query_pos, query = encoded.split(detector.embed_dims, dim=-1)
        return dict(decoder_inputs, query=query, query_pos=query_pos, reference_points=points)


@register_family('DINO')
class DINOQueries(DecoderQueries):
    """DINO: a query is a reference box (its encoder's proposal) and a learned content vector
    (``query_embedding``, one per query index). A point is the box; the point at index ``i``
    takes the content vector ``i`` modulo the number of queries, so that the model's own
    queries given as points are decoded as in its own step (denoising queries apart)."""

    point_kind = 'box'

    def own_points(self, detector, decoder_inputs):
        # in training the denoising queries come first; the matching queries are the last Q
        return decoder_inputs['reference_points'][:, -detector.num_queries:]

    def matching_part(self, detector, head_outputs):
        # the denoising queries come first, the matching queries are the last Q
        return tuple(output[..., -detector.num_queries:, :] for output in head_outputs)

    def decoder_inputs(self, detector, decoder_inputs, points):
        num_points = points.shape[1]
        index = torch.arange(num_points, device=points.device) % detector.num_queries
        content = detector.query_embedding.weight[index]
        return dict(decoder_inputs, query=content.expand(points.shape[0], -1, -1),
                    reference_points=points, dn_mask=None)


def run_transformer_inputs(detector: nn.Module, feats, batch_data_samples) -> dict:
    """``forward_decoder``'s keyword arguments of ``detector`` on neck ``feats``, as its
    ``forward_transformer`` makes them (pre-transformer, encoder, pre-decoder), in the
    detector's current mode (eval: no denoising queries)."""
    encoder_inputs, decoder_inputs = detector.pre_transformer(feats, batch_data_samples)
    encoder_outputs = detector.forward_encoder(**encoder_inputs)
    if 'batch_data_samples' in inspect.signature(detector.pre_decoder).parameters:
        encoder_outputs['batch_data_samples'] = batch_data_samples
    pre_decoder_inputs, _ = detector.pre_decoder(**encoder_outputs)
    decoder_inputs.update(pre_decoder_inputs)
    return decoder_inputs


def own_query_answers(teacher: nn.Module, feats, batch_data_samples) -> dict:
    """A teacher's transformer on its neck ``feats`` and its decoder on its own queries, once
    per step for all the distillers that read them.

    Args:
        teacher: a :class:`~mmkd.models.FrozenTeacher` (in eval mode: no denoising queries);
            the answers are kept in its ``step_memo`` for the other distillers of the step
            (the memo is emptied after the step's teacher work).
        feats: its neck's levels of this step (the record its taps made).
        batch_data_samples: the step's data samples.

    Returns:
        dict: ``inputs`` (``forward_decoder``'s keyword arguments), ``points`` (N, Q, D) its
        own queries as points, and per decoder layer ``states`` (L, N, Q, D), ``scores``
        (L, N, Q, C) and ``boxes`` (L, N, Q, 4).
    """
    memo = teacher.step_memo.get('own_query_answers')
    if memo is not None and memo[0] is feats:
        return memo[1]
    detector = teacher.detector
    queries = decoder_queries(detector, 'teacher')
    inputs = run_transformer_inputs(detector, feats, batch_data_samples)
    points = queries.own_points(detector, inputs)
    states, scores, boxes = queries.decode_states(detector, inputs, points)
    answers = dict(inputs=inputs, points=points, states=states, scores=scores, boxes=boxes)
    teacher.step_memo['own_query_answers'] = (feats, answers)
    return answers
