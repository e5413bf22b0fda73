"""Turn a DistillDetector checkpoint into a plain MMDetection student (config + weights)."""
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, ConfigDict

from mmkd.engine.hooks import to_plain
from mmkd.models.teacher import load_model_config
from mmkd.registry import DATASETS

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
    student = ConfigDict(load_model_config(student, config_key))
    student.setdefault('data_preprocessor', cfg.model.get('data_preprocessor'))
    plain['model'] = student.to_dict()
    plain['default_scope'] = 'mmdet'
    return Config(plain)


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
    checkpoint = torch.load(checkpoint_file, map_location='cpu', weights_only=True)
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
