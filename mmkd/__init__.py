"""mmkd: knowledge distillation for MMDetection 3.x.

Importing mmkd registers its models, hooks and datasets in child registries of mmdet's (scope
``mmkd``), so configs name them as ``mmkd.DistillDetector``, ``mmkd.ReviewKD``, ...
"""
from . import apis, datasets, engine, models, utils  # noqa: F401

__version__ = '0.1.0'
