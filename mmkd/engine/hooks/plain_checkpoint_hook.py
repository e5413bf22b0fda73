"""Checkpoints that ``torch.load(weights_only=True)`` reads: metadata kept to plain types."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.utils import apply_to

from mmkd.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def to_plain(obj):
    """numpy scalars and arrays to Python numbers and lists, inside dicts, lists and tuples."""
    return apply_to(obj, lambda value: isinstance(value, (np.generic, np.ndarray)),
                    lambda value: value.tolist())


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Writes the message hub's state as plain types, and reads it back.

    mmengine 0.10.7 pickles its message hub's ``HistoryBuffer`` objects into every checkpoint,
    and with them ``getattr`` references to their statistics methods: ``weights_only=True``
    (torch's default since 2.6) rightly refuses those, and ``getattr`` must never be
    allow-listed (it reaches arbitrary code). This hook stores each buffer as
    ``{'__history_buffer__': True, 'log_history': [...], 'count_history': [...],
    'max_length': int}`` and numpy values as Python numbers, so test, resume and ``load_from``
    read the file with ``weights_only`` on; after loading it rebuilds the buffers.

    It also stores the random generators' states (torch, CUDA, numpy, Python) as tensors and
    tuples, and restores them on resume, so a run resumed from an epoch checkpoint draws the
    same RoI samples and augmentations as the run that was never stopped (exactly so when data
    loading runs in the main process: worker processes keep their own generators).
    """

    priority = 'VERY_LOW'   # after every hook that may still add to the checkpoint

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is not None:
            hub['log_scalars'] = {
                key: {_BUFFER_TAG: True, 'log_history': buffer._log_history.tolist(),
                      'count_history': buffer._count_history.tolist(),
                      'max_length': buffer.max_length}
                for key, buffer in hub.get('log_scalars', {}).items()}
            hub['runtime_info'] = to_plain(hub.get('runtime_info', {}))
        checkpoint['meta'] = to_plain(checkpoint.get('meta', {}))
        checkpoint['rng_state'] = rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
        for key, value in scalars.items():
            if isinstance(value, dict) and value.get(_BUFFER_TAG):
                scalars[key] = HistoryBuffer(value['log_history'], value['count_history'],
                                             value['max_length'])
        if getattr(runner, '_resume', False) and 'rng_state' in checkpoint:
            set_rng_state(checkpoint['rng_state'])


def rng_state() -> dict:
    """The states of torch's, CUDA's, numpy's and Python's generators, as plain types."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    state = dict(torch=torch.get_rng_state(),
                 numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(position),
                        int(has_gauss), float(gauss)),
                 python=random.getstate())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state` (CUDA's only where both runs had it)."""
    torch.set_rng_state(state['torch'])
    name, keys, position, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
