from .checkpoint import UNSAFE_LOAD_RISK, load_checkpoint_strict

__all__ = ['UNSAFE_LOAD_RISK', 'load_checkpoint_strict', 'load_run_config']
from .config import load_run_config
