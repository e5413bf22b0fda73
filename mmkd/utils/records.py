"""Maps over nested records (dicts, lists, tuples of tensors), by :func:`mmengine.utils.apply_to`."""
import torch
from mmengine.utils import apply_to


def _is_float_tensor(value) -> bool:
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def as_fp32(records):
    """Floating tensors as fp32 (fp32 ones passed through, not copied): distill losses are
    computed in fp32 whatever the autocast dtype."""
    return apply_to(records, _is_float_tensor, lambda tensor: tensor.float())


def as_fp32_nchw(records):
    """Floating tensors as fp32 in contiguous (NCHW) memory: mmcv's RoI ops read their input as
    plain NCHW memory whatever its strides say, so channels-last maps must not reach them."""
    return apply_to(records, _is_float_tensor,
                    lambda tensor: tensor.float().contiguous())


def cast_floats(data, dtype: torch.dtype):
    """Floating tensors of another dtype cast to ``dtype``."""
    return apply_to(data, lambda value: _is_float_tensor(value) and value.dtype != dtype,
                    lambda tensor: tensor.to(dtype))


def detached_leaves(records):
    """Tensors that require grad replaced by detached leaves that do (the graph behind them
    cut); anything else passed through."""
    return apply_to(records, lambda value: isinstance(value, torch.Tensor) and value.requires_grad,
                    lambda tensor: tensor.detach().requires_grad_())
