from .checkpoint import UNSAFE_LOAD_RISK, load_checkpoint_strict
from .config import check_optim_wrapper, load_run_config
from .data_check import check_dataset_files
from .pretrained import imagenet_mobilenet_v2

__all__ = ['UNSAFE_LOAD_RISK', 'check_optim_wrapper', 'check_dataset_files', 'imagenet_mobilenet_v2',
           'load_checkpoint_strict', 'load_run_config']
