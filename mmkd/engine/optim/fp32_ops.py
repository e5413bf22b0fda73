"""mmcv ops whose CPU kernels take fp32 only, made to accept autocast's bf16 inputs."""
import functools
import importlib

import torch

from mmkd.utils.records import cast_floats

# (module, autograd Function) pairs that mmdet's detectors call on the CPU
CPU_FP32_FUNCTIONS = (('mmcv.ops.nms', 'NMSop'), ('mmcv.ops.nms', 'SoftNMSop'),
                      ('mmcv.ops.roi_align', 'RoIAlignFunction'))


def _in_fp32(method):
    """``method(ctx, *args)`` run in fp32 when CPU autocast is on or a CPU input is bf16/fp16
    (backward runs outside autocast, on bf16 gradients); floating outputs go back to the input
    dtype (mmdet writes RoIAlign's output into a tensor of the feature's dtype)."""

    @functools.wraps(method)
    def wrapped(ctx, *args):
        floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
        low_precision = any(a.device.type == 'cpu' and a.dtype in (torch.bfloat16, torch.float16)
                            for a in floats)
        if not (low_precision or torch.is_autocast_enabled('cpu')):
            return method(ctx, *args)
        dtype = floats[0].dtype if floats else torch.float32
        with torch.autocast('cpu', enabled=False):
            return cast_floats(method(ctx, *cast_floats(args, torch.float32)), dtype)

    return staticmethod(wrapped)


def cast_cpu_ops_to_fp32():
    """Make each of :data:`CPU_FP32_FUNCTIONS` accept bf16 under CPU autocast (idempotent).

    Forward and backward see fp32 tensors; outputs come back in the dtype of the floating inputs
    (autograd casts gradients to each input's dtype). Without CPU autocast the ops are untouched.
    """
    for module_name, function_name in CPU_FP32_FUNCTIONS:
        function = getattr(importlib.import_module(module_name), function_name)
        if getattr(function, '_mmkd_fp32_on_cpu', False):
            continue
        for name in ('forward', 'backward'):
            if name in vars(function):
                setattr(function, name, _in_fp32(getattr(function, name)))
        function._mmkd_fp32_on_cpu = True
