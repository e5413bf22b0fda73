"""mmkd's registries: children of mmdet's, so ``type='mmkd.X'`` resolves from any mmdet config.

Distillers, connectors and losses all live in :data:`MODELS` (scope ``mmkd``); a user registers
their own with ``@mmkd.registry.MODELS.register_module()`` in a module named in
``custom_imports``.
"""
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMDET_MODELS, scope='mmkd', locations=['mmkd.models'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, scope='mmkd', locations=['mmkd.engine'])
DATASETS = Registry('dataset', parent=MMDET_DATASETS, scope='mmkd', locations=['mmkd.datasets'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMDET_OPTIM_WRAPPERS, scope='mmkd',
                          locations=['mmkd.engine'])
