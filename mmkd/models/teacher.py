"""Build, load and freeze a teacher detector."""
import os.path as osp

import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from torch import nn

from mmkd.utils import load_checkpoint_strict


def load_model_config(config) -> ConfigDict:
    """The ``model`` section of a config given as a file path, an ``mmdet::`` path or a dict.

    A dict that has a ``model`` key is taken as a whole config; otherwise as the model itself.
    """
    if isinstance(config, str):
        if not config.startswith('mmdet::') and not osp.isfile(config):
            raise FileNotFoundError(f'model.teacher.config: no config file at {config!r}')
        return Config.fromfile(config).model
    config = ConfigDict(config)
    return config.model if 'model' in config else config


def build_frozen_teacher(config, checkpoint, trust_checkpoint=False) -> nn.Module:
    """Build the teacher, load its weights strictly, and freeze it.

    Args:
        config: the teacher's config (file, ``mmdet::`` path, or dict).
        checkpoint (str): its weights. Required: a teacher at random init teaches nothing.
        trust_checkpoint (bool): see :func:`mmkd.utils.load_checkpoint_strict`.

    Returns:
        The detector in eval mode with ``requires_grad=False`` on every parameter.
    """
    if not checkpoint:
        raise ValueError('model.teacher.checkpoint is not set: a teacher needs trained weights '
                         '(train it first, e.g. python tools/train.py <teacher config>)')
    model_cfg = load_model_config(config)
    teacher = MMDET_MODELS.build(model_cfg)
    load_checkpoint_strict(teacher, checkpoint, trust_checkpoint, config_key='model.teacher.checkpoint')
    print_log(f'teacher: loaded {checkpoint}', logger='current')
    freeze(teacher)
    return teacher


def freeze(model: nn.Module) -> nn.Module:
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


@torch.no_grad()
def probe_features(model: nn.Module, size: int = 128):
    """Run ``model.extract_feat`` once on zeros (1, 3, size, size) in eval mode, restoring the
    train/eval state afterwards, so taps on backbone and neck can report their shapes."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model.extract_feat(torch.zeros(1, 3, size, size, device=device))
    finally:
        model.train(was_training)
