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


def average_records(records: list, where: str = 'record'):
    """The element-wise mean of records of one structure (dicts, lists, tuples of floating
    tensors of one shape each), e.g. the feature maps of several teachers.

    Raises:
        ValueError: the records differ in structure or in a tensor's shape (the message says
            where, ``where`` naming the top), or hold something that is not a floating tensor.
    """
    first = records[0]
    if isinstance(first, dict):
        if any(not isinstance(r, dict) or set(r) != set(first) for r in records):
            raise ValueError(f'{where}: the records to average have different keys')
        return {key: average_records([r[key] for r in records], f'{where}[{key!r}]')
                for key in first}
    if isinstance(first, (list, tuple)):
        if any(not isinstance(r, (list, tuple)) or len(r) != len(first) for r in records):
            raise ValueError(f'{where}: the records to average have different lengths')
        return type(first)(average_records([r[i] for r in records], f'{where}[{i}]')
                           for i in range(len(first)))
    if not all(_is_float_tensor(r) for r in records):
        raise ValueError(f'{where}: only floating tensors can be averaged, got '
                         f'{[type(r).__name__ for r in records]}')
    shapes = [tuple(r.shape) for r in records]
    if len(set(shapes)) > 1:
        raise ValueError(f'{where}: the tensors to average differ in shape: {shapes}')
    return torch.stack(records).mean(dim=0)
