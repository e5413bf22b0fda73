"""Turn a DistillDetector checkpoint into a plain MMDetection student (config + weights)."""
import os
import os.path as osp

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


def student_config(cfg: Config) -> Config:
    """The run config with the student as ``model`` and nothing that needs mmkd."""
    if cfg.model.get('type') not in ('mmkd.DistillDetector', 'DistillDetector'):
        raise ValueError(f'model.type is {cfg.model.get("type")!r}: export_student reads '
                         f'configs whose model is an mmkd.DistillDetector')
    plain = {key: _plain_dataset(value) for key, value in cfg.to_dict().items()
             if key not in ('model', 'custom_imports', 'custom_hooks')}
    student = ConfigDict(load_model_config(cfg.model.student, 'model.student'))
    student.setdefault('data_preprocessor', cfg.model.get('data_preprocessor'))
    plain['model'] = student.to_dict()
    plain['default_scope'] = 'mmdet'
    return Config(plain)


def export_student(config_file: str, checkpoint_file: str, out_dir: str):
    """Write ``out_dir/student.py`` and ``out_dir/student.pth``; returns both paths.

    The checkpoint holds the student's weights (keys without the ``student.`` prefix) and the
    dataset meta, all plain types, so ``mmdet.apis.init_detector`` loads it with
    ``weights_only=True`` in a process that never imports mmkd.
    """
    cfg = Config.fromfile(config_file)
    checkpoint = torch.load(checkpoint_file, map_location='cpu', weights_only=True)
    state_dict = checkpoint.get('state_dict', checkpoint)
    student_state = {key[len(STUDENT_PREFIX):]: value for key, value in state_dict.items()
                     if key.startswith(STUDENT_PREFIX)}
    if not student_state:
        raise KeyError(f'{checkpoint_file} has no {STUDENT_PREFIX!r} weights: is it a '
                       f'checkpoint of a DistillDetector run?')
    meta = checkpoint.get('meta', {})
    os.makedirs(out_dir, exist_ok=True)
    config_out, weights_out = osp.join(out_dir, 'student.py'), osp.join(out_dir, 'student.pth')
    student_config(cfg).dump(config_out)
    torch.save(dict(state_dict=student_state,
                    meta=to_plain(dict(dataset_meta=meta.get('dataset_meta'),
                                       exported_from=osp.abspath(checkpoint_file),
                                       epoch=meta.get('epoch'), iter=meta.get('iter')))),
               weights_out)
    return config_out, weights_out
