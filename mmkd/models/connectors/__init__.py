from .abf import ABF
from .adapter import Adapter

__all__ = ['ABF', 'Adapter']
