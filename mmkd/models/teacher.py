"""The frozen teacher: built, loaded strictly, frozen, fed its own inputs, tapped."""
import contextlib
import copy
import inspect
import os.path as osp
from typing import Optional

import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.logging import print_log
from torch import nn

from mmkd.utils import load_checkpoint_strict
from mmkd.utils.records import as_fp32_nchw
from .input_adapter import TeacherInputAdapter
from .taps import TapSet


def load_model_config(config, config_key: str = 'model.teacher.config') -> ConfigDict:
    """The ``model`` section of a config given as a file path, an ``mmdet::`` path or a dict.

    A dict that has a ``model`` key is taken as a whole config; otherwise as the model itself.
    ``mmdet::`` paths are resolved by :func:`mmengine.hub.get_config` (mmdet's own config
    files, ``_base_`` inheritance included).
    """
    if isinstance(config, str):
        if '::' in config:
            try:
                return get_config(config).model
            except (FileNotFoundError, ValueError) as err:
                raise FileNotFoundError(f'{config_key}: {config!r} is not a config of the '
                                        f'package it names ({err})') from None
        if not osp.isfile(config):
            raise FileNotFoundError(f'{config_key}: no config file at {config!r}')
        return Config.fromfile(config).model
    # a copy: mmdet's DETRs edit their config while they build (bbox_head's
    # share_pred_layer, ...) and refuse such a config the next time
    config = ConfigDict(copy.deepcopy(config))
    return config.model if 'model' in config else config


def freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


PROBE_SIZE = 128   # pixels a side of the probe input: a stride is PROBE_SIZE / map width


@torch.no_grad()
def probe_features(model: nn.Module, size: int = PROBE_SIZE):
    """Run ``model.extract_feat`` once on zeros (1, 3, size, size) in eval mode, restoring the
    train/eval state afterwards, so taps on backbone and neck can report their shapes (and
    strides, ``size`` / map width)."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model.extract_feat(torch.zeros(1, 3, size, size, device=device))
    finally:
        model.train(was_training)


class FrozenTeacher(nn.Module):
    """Everything about the teacher, in one place.

    Builds the detector from its config, loads its checkpoint strictly (``weights_only``),
    freezes it (eval mode, no gradients, kept in eval by :meth:`train`), maps the student's
    inputs to the teacher's own normalisation and padding (:class:`TeacherInputAdapter`),
    applies the ``fp16`` and ``channels_last`` switches, and records what the distillers read
    (:attr:`taps`).

    The :class:`~mmkd.models.DistillDetector` keeps it out of its own module tree, so it is in
    no optimizer, no checkpoint and no DDP bucket.

    Args:
        config: the teacher's config (file, ``mmdet::`` path, or dict).
        checkpoint (str): its weights. Required: a teacher at random init teaches nothing.
        student_preprocessor (nn.Module): the student's built ``DetDataPreprocessor``.
        trust_checkpoint (bool): see :func:`mmkd.utils.load_checkpoint_strict`.
        fp16 (bool): the teacher's forward under fp16 autocast on a GPU (no effect on the CPU).
        channels_last (bool): weights and inputs channels-last (fastest for GPU convolutions).
            The maps the teacher hands over are contiguous NCHW all the same, as mmcv's RoI
            ops read their input as plain NCHW memory.
        config_key (str): where the teacher is in the config, for messages: ``'model.teacher'``
            or ``'model.teachers[i]'``.
    """

    def __init__(self, config, checkpoint, student_preprocessor: nn.Module,
                 trust_checkpoint: bool = False, fp16: bool = False, channels_last: bool = False,
                 config_key: str = 'model.teacher'):
        super().__init__()
        if not checkpoint:
            raise ValueError(f'{config_key}.checkpoint is not set: a teacher needs trained '
                             'weights (train it first, e.g. python tools/train.py <teacher config>)')
        self.detector = MMDET_MODELS.build(load_model_config(config, f'{config_key}.config'))
        load_checkpoint_strict(self.detector, checkpoint, trust_checkpoint,
                               config_key=f'{config_key}.checkpoint')
        print_log(f'teacher: loaded {checkpoint}', logger='current')
        freeze(self.detector)
        self.input = TeacherInputAdapter(student_preprocessor, self.detector.data_preprocessor)
        self.fp16 = bool(fp16)
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.detector.to(memory_format=torch.channels_last)
        self.taps = TapSet(self.detector, 'teacher')
        # what several distillers read of one step's teacher run, computed once: filled by
        # them (mmkd.models.detr_queries.own_query_answers), emptied after each step's
        # teacher work (DistillDetector.teacher_records)
        self.step_memo = {}
        self.eval()

    @classmethod
    def from_config(cls, cfg: dict, student_preprocessor: nn.Module,
                    config_key: str = 'model.teacher') -> 'FrozenTeacher':
        """Build from the ``model.teacher`` dict (or one of ``model.teachers``): keys
        ``config``, ``checkpoint`` and the optional arguments of this class."""
        if not isinstance(cfg, dict):
            raise TypeError(f'{config_key} must be a dict with keys config and checkpoint; got '
                            f'{type(cfg).__name__}')
        cfg = ConfigDict(cfg)
        missing = {'config', 'checkpoint'} - set(cfg)
        if missing:
            raise KeyError(f'{config_key} needs keys {sorted(missing)}; got {sorted(cfg)}')
        known = set(inspect.signature(cls).parameters) - {'student_preprocessor', 'config_key'}
        unknown = set(cfg) - known
        if unknown:
            raise KeyError(f'{config_key} has unknown keys {sorted(unknown)}; it takes '
                           f'{sorted(known)}')
        return cls(student_preprocessor=student_preprocessor, config_key=config_key, **cfg)

    def train(self, mode: bool = True):
        """The teacher stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def module(self, path: str) -> nn.Module:
        """The detector's submodule at dotted ``path`` (a head a distiller runs, say)."""
        return self.detector.get_submodule(path)

    def half(self, device: torch.device) -> bool:
        """Whether the teacher runs under fp16 autocast on ``device``."""
        return self.fp16 and device.type == 'cuda'

    def autocast(self, device: torch.device):
        """The precision of the teacher's head work: fp16 autocast with ``fp16`` on a GPU, fp32
        otherwise (like the distill losses)."""
        if self.half(device):
            return torch.autocast('cuda', torch.float16)
        return torch.autocast(device.type, enabled=False)

    def features(self, batch_inputs: torch.Tensor, data_samples: Optional[list] = None) -> dict:
        """Backbone and neck on the student's batch, under ``no_grad``.

        Args:
            batch_inputs: (N, 3, H, W), normalised and padded by the student's preprocessor.
            data_samples: their data samples (``img_shape`` tells the padding); optional when
                the two preprocessors agree.

        Returns:
            ``{tap path: record}`` of the backbone/neck taps, tensors fp32 and contiguous NCHW.
        """
        inputs = self.input(batch_inputs, data_samples)
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        autocast = (torch.autocast('cuda', torch.float16) if self.half(inputs.device)
                    else contextlib.nullcontext())      # else: the step's own autocast
        with torch.no_grad(), autocast, self.taps.recording() as records:
            self.detector.extract_feat(inputs)
        return as_fp32_nchw(records)

