"""The base of the distillers that run a DETR-family decoder on queries of their own."""
import inspect
from typing import List

from torch import nn

from ..detr_queries import check_detr_pair, decoder_queries, own_query_answers, \
    sigmoid_scores
from .base import BaseDistiller


class QueryDistiller(BaseDistiller):
    """Reads both models' decoders: checks at build that both are DETR-family detectors, keeps
    each one's :class:`~mmkd.models.detr_queries.DecoderQueries` (``student_queries``,
    ``teacher_queries``) and the student (``student``), and runs the teacher's transformer up to
    its decoder on its own queries (:meth:`teacher_answers`, once a step for all). Subclasses tap
    ``'forward_transformer'`` on the student as ``transformer`` (its data samples), and those
    that decode points with the student ``'forward_decoder'`` as ``decoder``
    (:meth:`student_decoder_inputs`)."""

    averages_teachers = False     # its teacher records are a decoder's answers

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._student: List[nn.Module] = []    # a list: not a submodule of the distiller

    @property
    def student(self) -> nn.Module:
        return self._student[0]

    def check_pair(self, student_model, teacher_model):
        check_detr_pair(student_model, teacher_model)

    def setup(self, student_records, teacher_records, student_model, teacher_model):
        self.student_queries = decoder_queries(student_model, 'student')
        self.teacher_queries = decoder_queries(teacher_model, 'teacher')
        self._student = [student_model]

    def teacher_answers(self, student_records, teacher_records, teacher) -> dict:
        """The teacher's transformer and its decoder's answers on its own queries in this step
        (:func:`~mmkd.models.detr_queries.own_query_answers`), on its neck features
        (``teacher_records['feats']``) and the step's data samples."""
        samples = student_records['transformer']['inputs']['batch_data_samples']
        return own_query_answers(teacher, teacher_records['feats'], samples)

    def student_decoder_inputs(self, student_records) -> dict:
        """The keyword arguments of the student's ``forward_decoder`` in this step (its
        ``decoder`` tap; the ``**kwargs`` it collected spread out)."""
        arguments = dict(student_records['decoder']['inputs'])
        parameters = inspect.signature(self.student.forward_decoder).parameters
        for name, parameter in parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                arguments.update(arguments.pop(name, {}))
        return arguments

    def check_shared_points(self, student_model, teacher_model, scores: bool) -> None:
        """Raise a ValueError naming both sides where the two decoders cannot take the same
        points (of one kind and width) or, with ``scores``, do not score the same classes the
        same way (sigmoid or softmax)."""
        sides = dict(student=(student_model, self.student_queries),
                     teacher=(teacher_model, self.teacher_queries))
        described = {side: (f'{type(model).__name__} ({queries.point_kind} points of '
                            f'{queries.point_width(model)} values'
                            + (f', {model.bbox_head.num_classes} classes, '
                               f'{"sigmoid" if sigmoid_scores(model) else "softmax"} scores)'
                               if scores else ')'))
                     for side, (model, queries) in sides.items()}
        same = (self.student_queries.point_kind == self.teacher_queries.point_kind
                and self.student_queries.point_width(student_model)
                == self.teacher_queries.point_width(teacher_model))
        if scores:
            same = same and (student_model.bbox_head.num_classes
                             == teacher_model.bbox_head.num_classes
                             and sigmoid_scores(student_model) == sigmoid_scores(teacher_model))
        if not same:
            raise ValueError(f'{type(self).__name__} feeds both decoders the same points'
                             + (' and compares their class scores' if scores else '')
                             + ', so the two must take points of one kind and width'
                             + (' and score the same classes the same way' if scores else '')
                             + f': student {described["student"]}, teacher '
                               f'{described["teacher"]}')
