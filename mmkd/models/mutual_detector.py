"""Deep mutual learning: detectors trained together, each distilling from the others."""
import contextlib
from typing import Dict, List, Union

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.model import ModuleDict, ModuleList
from mmengine.registry import DefaultScope
from mmengine.utils import apply_to
from torch import nn

from mmkd.registry import MODELS
from mmkd.utils.records import as_fp32
from .distill_detector import _errors_name
from .distillers import build_distiller
from .distillers.base import detection_loss
from .taps import TapSet, records_by_role
from .teacher import load_model_config, probe_features


class Peer:
    """A trainable detector seen as a teacher by the others (what ``teacher_forward`` of a
    distiller is handed): its submodules by path, its own precision. Records taken from it
    are detached, so no peer learns through another's loss."""

    def __init__(self, detector: nn.Module):
        self.detector = detector

    def module(self, path: str) -> nn.Module:
        return self.detector.get_submodule(path)

    def autocast(self, device: torch.device):
        return contextlib.nullcontext()


def _detached(records):
    return apply_to(records, lambda value: isinstance(value, torch.Tensor),
                    lambda tensor: tensor.detach())


@MODELS.register_module()
class MutualDetector(BaseDetector):
    """Deep mutual learning (Zhang et al., CVPR 2018) for detectors: ``peers`` train together,
    each with its own losses plus, for every other peer, the ``distillers`` with that peer as
    the teacher (its records detached: each learns from the others, not through them).

    Every peer is a submodule: all are in the optimizer, the checkpoint and a resume (keys
    ``peers.<i>.``); ``tools/export_student.py --peer i`` writes any one as a plain mmdet
    model. Inference is peer ``predict_with``. Losses are logged per peer: ``peer0.loss_cls``,
    and ``peer0_from_peer1.loss_logit_kd`` for what peer 0 learns from peer 1.

    A distiller here gets a :class:`Peer` where it would get the frozen teacher: those that run
    a teacher head on the teacher's own maps (``DenseLogitKD``, the feature distillers) work;
    those that need a teacher head on the student's RoIs are not meant for peers, and one that
    rescales the student's own losses (``RPNKD``, ``RoIHeadKD``: ``mu``) is refused at build.

    Args:
        peers (list[dict]): two or more mmdet detector configs (or config paths), the same or
            different.
        distillers (list[dict]): as :class:`DistillDetector`'s, built once per ordered pair.
        predict_with (int): the peer that predicts. Default 0.
        data_preprocessor (dict, optional): default: the first peer's (all peers read the same
            batch).
    """

    def __init__(self, peers: List[Union[dict, str]], distillers: List[dict],
                 predict_with: int = 0, data_preprocessor=None, init_cfg=None):
        if not isinstance(peers, (list, tuple)) or len(peers) < 2:
            raise ValueError(f'model.peers must list two or more detector configs; got '
                             f'{peers!r}')
        if not distillers:
            raise ValueError('model.distillers is empty: name at least one distiller')
        configs = [load_model_config(cfg, f'model.peers[{index}]')
                   for index, cfg in enumerate(peers)]
        if not 0 <= predict_with < len(configs):
            raise ValueError(f'model.predict_with={predict_with}: choose a peer, 0 to '
                             f'{len(configs) - 1}')
        super().__init__(data_preprocessor=data_preprocessor or configs[0].get(
            'data_preprocessor'), init_cfg=init_cfg)
        self.predict_with = predict_with
        # mmengine's ModuleList, so that init_weights reaches each peer's own initialisation
        self.peers = ModuleList(MMDET_MODELS.build(cfg) for cfg in configs)
        self.taps = [TapSet(peer, f'peer{index}') for index, peer in enumerate(self.peers)]
        self.directions = [(learner, teacher) for learner in range(len(self.peers))
                           for teacher in range(len(self.peers)) if learner != teacher]
        self.distillers = ModuleDict()
        for learner, teacher in self.directions:
            built = ModuleList()
            for index, cfg in enumerate(distillers):
                with _errors_name(f'model.distillers[{index}]'), \
                        DefaultScope.overwrite_default_scope('mmkd'):
                    distiller = build_distiller(cfg)
                    if distiller.student_loss_scales:
                        raise ValueError(
                            f'{type(distiller).__name__} rescales the student\'s own losses '
                            f'({", ".join(distiller.student_loss_scales)}), which a peer\'s are '
                            f'not: use it in an mmkd.DistillDetector with a fixed teacher')
                    self.taps[learner].add(distiller.student_taps.values())
                    self.taps[teacher].add(distiller.teacher_taps.values())
                built.append(distiller)
            self.distillers[self._direction(learner, teacher)] = built
        self._setup_distillers()

    @staticmethod
    def _direction(learner: int, teacher: int) -> str:
        return f'peer{learner}_from_peer{teacher}'

    def _setup_distillers(self):
        probes = []
        for peer, taps in zip(self.peers, self.taps):
            with taps.recording(require_all=False) as records:
                probe_features(peer)
            probes.append(records)
        for learner, teacher in self.directions:
            for index, distiller in enumerate(self.distillers[self._direction(learner, teacher)]):
                with _errors_name(f'model.distillers[{index}] (peer {learner} from peer '
                                  f'{teacher})'):
                    distiller.setup(records_by_role(distiller.student_taps, probes[learner]),
                                    records_by_role(distiller.teacher_taps, probes[teacher]),
                                    self.peers[learner], self.peers[teacher])

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples) -> Dict[str, torch.Tensor]:
        """Each peer's own losses (``peer<i>.<name>``) and what each learns from each other
        (``peer<i>_from_peer<j>.<name>``)."""
        losses, records, detection = {}, [], []
        for index, (peer, taps) in enumerate(zip(self.peers, self.taps)):
            with taps.recording() as tapped:
                own = peer.loss(batch_inputs, batch_data_samples)
            losses.update({f'peer{index}.{name}': value for name, value in own.items()})
            records.append(as_fp32(tapped))
            detection.append(detection_loss(own))
        for learner, teacher in self.directions:
            direction = self._direction(learner, teacher)
            peer = Peer(self.peers[teacher])
            for distiller in self.distillers[direction]:
                student = records_by_role(distiller.student_taps, records[learner])
                taught = _detached(records_by_role(distiller.teacher_taps, records[teacher]))
                with torch.no_grad():
                    taught.update(as_fp32(distiller.teacher_forward(student, taught, peer)))
                losses.update({f'{direction}.{name}': value
                               for name, value
                               in distiller(student, taught, detection[learner]).items()})
        return losses

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        return self.peers[self.predict_with].predict(batch_inputs, batch_data_samples,
                                                     rescale=rescale)

    def _forward(self, batch_inputs, batch_data_samples=None):
        return self.peers[self.predict_with]._forward(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs):
        return self.peers[self.predict_with].extract_feat(batch_inputs)
