"""Checkpoints that ``torch.load(weights_only=True)`` reads: metadata kept to plain types."""
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmkd.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def to_plain(obj):
    """numpy scalars and arrays to Python numbers and lists, inside dicts, lists and tuples."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return type(obj)((key, to_plain(value)) for key, value in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(item) for item in obj)
    return obj


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

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
        for key, value in scalars.items():
            if isinstance(value, dict) and value.get(_BUFFER_TAG):
                scalars[key] = HistoryBuffer(value['log_history'], value['count_history'],
                                             value['max_length'])
