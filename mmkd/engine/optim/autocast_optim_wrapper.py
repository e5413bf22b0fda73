"""Mixed precision without a GPU: bf16 autocast on the CPU, through mmengine's OptimWrapper."""
from contextlib import contextmanager

import torch
from mmengine.device import get_device
from mmengine.optim import OptimWrapper

from mmkd.registry import OPTIM_WRAPPERS
from .fp32_ops import cast_cpu_ops_to_fp32


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Runs the forward under ``torch.autocast(device, dtype)``; backward and step are plain.

    mmengine's ``AmpOptimWrapper`` asserts a GPU and scales fp16 losses; bf16 keeps fp32's
    exponent range, so no loss scaling is needed and the CPU can use it. ``tools/train.py --amp``
    picks this wrapper when no GPU is visible. mmcv's CPU kernels (NMS, RoIAlign) take fp32 only:
    on the CPU they get fp32 inputs (:func:`cast_cpu_ops_to_fp32`).

    Args:
        dtype (str): ``'bfloat16'`` (default) or ``'float16'`` (GPU only, and then prefer
            mmengine's ``AmpOptimWrapper``, which scales the loss).
        device (str, optional): autocast device type; default: mmengine's current device.
    """

    def __init__(self, *args, dtype: str = 'bfloat16', device: str = None, **kwargs):
        super().__init__(*args, **kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"optim_wrapper.dtype={dtype!r}: use 'bfloat16' or 'float16'")
        self.cast_dtype = getattr(torch, dtype)
        self.device_type = (device or get_device()).split(':')[0]
        if self.device_type == 'cpu':
            cast_cpu_ops_to_fp32()

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), \
                torch.autocast(device_type=self.device_type, dtype=self.cast_dtype):
            yield
