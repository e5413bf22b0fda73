"""The base of the distillers that run a DETR-family decoder on queries of their own."""
from typing import List

from torch import nn

from ..detr_queries import check_detr_pair, decoder_queries, run_transformer_inputs
from .base import BaseDistiller


class QueryDistiller(BaseDistiller):
    """Reads both models' decoders: checks at build that both are DETR-family detectors, keeps
    each one's :class:`~mmkd.models.detr_queries.DecoderQueries` (``student_queries``,
    ``teacher_queries``) and the student (``student``), and runs the teacher's transformer up to
    its decoder on the step's inputs (:meth:`teacher_decoder_inputs`). Subclasses tap
    ``'forward_transformer'`` on the student as ``transformer`` (its data samples)."""

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

    def teacher_decoder_inputs(self, student_records, teacher_records, detector) -> dict:
        """``forward_decoder``'s arguments of the teacher ``detector`` on its neck features
        (``teacher_records['feats']``) and the step's data samples."""
        samples = student_records['transformer']['inputs']['batch_data_samples']
        return run_transformer_inputs(detector, teacher_records['feats'], samples)
