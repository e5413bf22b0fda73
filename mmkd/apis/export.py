"""Turn a DistillDetector checkpoint into a plain MMDetection student (config + weights)."""
import copy
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch import nn

from mmkd.engine.hooks import to_plain
from mmkd.models.teacher import load_model_config
from mmkd.registry import DATASETS
from mmkd.utils.checkpoint import read_checkpoint

STUDENT_PREFIX = 'student.'


def _plain_dataset(node):
    """Replace mmkd dataset types by the mmdet type they reduce to, recursively."""
    if isinstance(node, dict):
        node = type(node)((key, _plain_dataset(value)) for key, value in node.items())
        dataset_type = node.get('type')
        if isinstance(dataset_type, str) and dataset_type.startswith('mmkd.'):
            dataset_cls = DATASETS.get(dataset_type)
            if dataset_cls is not None and hasattr(dataset_cls, 'plain_config'):
                node = dataset_cls.plain_config(node)
        return node
    if isinstance(node, list):
        return [_plain_dataset(item) for item in node]
    return node


DISTILLERS = ('mmkd.DistillDetector', 'DistillDetector')
MUTUAL = ('mmkd.MutualDetector', 'MutualDetector')


def student_config(cfg: Config, peer: Optional[int] = None) -> Config:
    """The run config with the student (of a MutualDetector: peer ``peer``) as ``model`` and
    nothing that needs mmkd."""
    model_type = cfg.model.get('type')
    if model_type in MUTUAL:
        if peer is None or not 0 <= peer < len(cfg.model.peers):
            raise ValueError(f'a MutualDetector run has {len(cfg.model.peers)} peers: name the '
                             f'one to export (peer=0 to {len(cfg.model.peers) - 1})')
        student, config_key = cfg.model.peers[peer], f'model.peers[{peer}]'
    elif model_type in DISTILLERS:
        if peer is not None:
            raise ValueError('peer names a model of a MutualDetector run; this run has one '
                             'student')
        student, config_key = cfg.model.student, 'model.student'
    else:
        raise ValueError(f'model.type is {model_type!r}: export_student reads configs whose '
                         f'model is an mmkd.DistillDetector or an mmkd.MutualDetector')
    plain = {key: _plain_dataset(value) for key, value in cfg.to_dict().items()
             if key not in ('model', 'custom_imports', 'custom_hooks')}
    # variables the distillation config kept for its model (a base's list of distillers, say)
    plain = {key: value for key, value in plain.items() if not _names_mmkd_type(value)}
    plain['model'] = _as_run(load_model_config(student, config_key), cfg.model).to_dict()
    plain['default_scope'] = 'mmdet'
    return Config(plain)


def _names_mmkd_type(node) -> bool:
    """Whether a config value names an mmkd type (``type='mmkd.…'``) anywhere inside."""
    if isinstance(node, dict):
        return (isinstance(node.get('type'), str) and node['type'].startswith('mmkd.')) or any(
            _names_mmkd_type(value) for value in node.values())
    if isinstance(node, (list, tuple)):
        return any(_names_mmkd_type(item) for item in node)
    return False


def _as_run(student: ConfigDict, model: ConfigDict) -> ConfigDict:
    """``student`` with the preprocessor the run feeds it: the distiller's ``model``-level
    ``data_preprocessor`` where the config sets one (the DistillDetector and the MutualDetector
    preprocess the batch with it), else the student's own."""
    student = ConfigDict(student)
    if model.get('data_preprocessor') is not None:
        student['data_preprocessor'] = model['data_preprocessor']
    return student


def is_distill_config(cfg: Config) -> bool:
    """Whether ``cfg``'s model is a :class:`~mmkd.models.DistillDetector`."""
    return cfg.model.get('type') in DISTILLERS


def student_run_config(cfg: Config) -> Config:
    """The run config of a distillation config with its student alone as ``model`` (as the
    DistillDetector runs it: its preprocessor included) and the rest as it is: what testing the
    student needs, without building or loading the teacher (whose checkpoint may be gone)."""
    if not is_distill_config(cfg):
        raise ValueError(f'model.type is {cfg.model.get("type")!r}, not a DistillDetector')
    run = copy.deepcopy(cfg)
    run.model = _as_run(load_model_config(cfg.model.student, 'model.student'), cfg.model)
    return run


def student_state_dict(checkpoint_file: str, config_key: str = 'checkpoint') -> dict:
    """The student's weights in ``checkpoint_file``: a checkpoint of a distillation run (its
    ``student.`` keys, prefix removed; the connectors' are left out) or of a student alone
    (plain mmdet keys, e.g. written by :func:`export_student`). Read by
    :func:`~mmkd.utils.checkpoint.read_checkpoint`."""
    checkpoint = read_checkpoint(checkpoint_file, config_key)
    state = checkpoint.get('state_dict', checkpoint)
    if any(key.startswith(STUDENT_PREFIX) for key in state):
        state = {key[len(STUDENT_PREFIX):]: value for key, value in state.items()
                 if key.startswith(STUDENT_PREFIX)}
    return state


def load_student_weights(student: nn.Module, checkpoint_file: str,
                         config_key: str = 'checkpoint') -> int:
    """Load :func:`student_state_dict` of ``checkpoint_file`` into ``student`` strictly (every
    key and shape accounted for); returns the number of tensors loaded."""
    state = student_state_dict(checkpoint_file, config_key)
    try:
        student.load_state_dict(state)
    except RuntimeError as err:
        raise RuntimeError(f'{config_key} {checkpoint_file} is not a checkpoint of the student '
                           f'of this config: {err}') from None
    return len(state)


def student_test_runner(cfg: Config, checkpoint_file: str) -> Runner:
    """A Runner that tests the student of distillation config ``cfg`` alone
    (:func:`student_run_config`: the teacher neither built nor loaded), its weights loaded
    strictly from ``checkpoint_file`` (:func:`load_student_weights`)."""
    cfg = student_run_config(cfg)
    cfg.load_from, cfg.resume = None, False     # the weights are loaded here, below
    runner = Runner.from_cfg(cfg)
    student = runner.model.module if is_model_wrapper(runner.model) else runner.model
    loaded = load_student_weights(student, checkpoint_file, 'checkpoint')
    print_log(f'testing the student of this config alone: {loaded} tensors loaded from '
              f'{checkpoint_file}', logger='current')
    return runner


def export_student(config_file: str, checkpoint_file: str, out_dir: str,
                   peer: Optional[int] = None):
    """Write ``out_dir/student.py`` and ``out_dir/student.pth``; returns both paths.

    The checkpoint holds the student's weights (keys without the ``student.`` prefix, or
    ``peers.<peer>.`` for a MutualDetector) and the dataset meta, all plain types, so
    ``mmdet.apis.init_detector`` loads it with ``weights_only=True`` in a process that never
    imports mmkd.
    """
    cfg = Config.fromfile(config_file)
    config = student_config(cfg, peer)
    prefix = STUDENT_PREFIX if peer is None else f'peers.{peer}.'
    checkpoint = read_checkpoint(checkpoint_file)
    state_dict = checkpoint.get('state_dict', checkpoint)
    student_state = {key[len(prefix):]: value for key, value in state_dict.items()
                     if key.startswith(prefix)}
    if not student_state:
        raise KeyError(f'{checkpoint_file} has no {prefix!r} weights: is it a '
                       f'checkpoint of a run of {config_file}?')
    meta = checkpoint.get('meta', {})
    os.makedirs(out_dir, exist_ok=True)
    config_out, weights_out = osp.join(out_dir, 'student.py'), osp.join(out_dir, 'student.pth')
    config.dump(config_out)
    torch.save(dict(state_dict=student_state,
                    meta=to_plain(dict(dataset_meta=meta.get('dataset_meta'),
                                       exported_from=osp.abspath(checkpoint_file),
                                       epoch=meta.get('epoch'), iter=meta.get('iter')))),
               weights_out)
    return config_out, weights_out
