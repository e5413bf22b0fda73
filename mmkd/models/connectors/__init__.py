from .abf import ABF
from .adapter import Adapter
from .masked_generation import MaskedGeneration

__all__ = ['ABF', 'Adapter', 'MaskedGeneration']
