from .checkpoint import UNSAFE_LOAD_RISK, load_checkpoint_strict
from .config import (check_optim_wrapper, config_argument, enable_config_scope, load_run_config,
                     resolve_config_path)
from .package_files import package_file, package_folder
from .data_check import check_dataset_files
from .pretrained import imagenet_mobilenet_v2

__all__ = ['UNSAFE_LOAD_RISK', 'check_optim_wrapper', 'check_dataset_files', 'config_argument',
           'enable_config_scope',
           'imagenet_mobilenet_v2', 'load_checkpoint_strict', 'load_run_config', 'package_file',
           'package_folder', 'resolve_config_path']
