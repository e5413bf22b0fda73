from .connectors import *  # noqa: F401,F403
from .distill_detector import DistillDetector, DistillStep
from .distillers import *  # noqa: F401,F403
from .taps import Tap, TapSet, resolve_module
from .teacher import FrozenTeacher

__all__ = ['DistillDetector', 'DistillStep', 'FrozenTeacher', 'Tap', 'TapSet', 'resolve_module']
