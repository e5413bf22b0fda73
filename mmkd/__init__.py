"""mmkd: knowledge distillation for MMDetection 3.x.

Importing mmkd registers its models, hooks and datasets in child registries of mmdet's (scope
``mmkd``), so configs name them as ``mmkd.DistillDetector``, ``mmkd.ReviewKD``, ... It also lets mmengine's ``Config`` read
``mmkd::`` paths (``mmkd::pkd_frcnn.py``, or as a ``_base_``), as it reads ``mmdet::`` ones.
"""
from . import apis, datasets, engine, models, utils  # noqa: F401

__version__ = '0.2.0'

utils.enable_config_scope()
