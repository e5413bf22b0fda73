from .connectors import *  # noqa: F401,F403
from .distill_detector import DistillDetector
from .distillers import *  # noqa: F401,F403
from .taps import Tap, resolve_module

__all__ = ['DistillDetector', 'Tap', 'resolve_module']
