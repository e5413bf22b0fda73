from .connectors import *  # noqa: F401,F403
from .distill_detector import DistillDetector, DistillStep
from .distillers import *  # noqa: F401,F403
from .mutual_detector import MutualDetector
from .taps import Tap, TapSet, resolve_module
from .teacher import FrozenTeacher

__all__ = ['DistillDetector', 'DistillStep', 'FrozenTeacher', 'MutualDetector', 'Tap', 'TapSet', 'resolve_module']
