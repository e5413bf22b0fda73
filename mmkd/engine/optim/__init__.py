from .amp_optim_wrapper import SkippingAmpOptimWrapper
from .autocast_optim_wrapper import AutocastOptimWrapper

__all__ = ['AutocastOptimWrapper', 'SkippingAmpOptimWrapper']
