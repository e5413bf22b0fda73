"""Loading checkpoints on torch >= 2.6 without unpickling arbitrary code.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: tensors, containers and plain
types only. mmkd keeps it that way for every load: checkpoints that mmkd's tools write hold
plain types only (:class:`mmkd.engine.PlainCheckpointHook`), and a file that names anything
else (a crafted pickle's ``os.system``, a stock mmengine checkpoint's ``getattr``) is refused
before any of its code runs. ``trust_checkpoint=True`` is the explicit opt-in to full
unpickling, for files the user vouches for.
"""
import os
import os.path as osp
import pickle
import re
import urllib.error
import urllib.parse
import warnings

import numpy as np
import torch
from mmengine.runner.checkpoint import load_state_dict

UNSAFE_LOAD_RISK = ('unpickling it in full runs whatever code the file names, so do this only '
                    'for a file you produced yourself or otherwise trust')


_multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
# what numpy arrays and scalars of plain dtypes (bool, numbers, strings; not object) in a
# checkpoint's metadata unpickle through (mmdet's model-zoo files have them); each builds an
# array or scalar from data, none runs code a file names
NUMPY_GLOBALS = [_multiarray._reconstruct, _multiarray.scalar, np.ndarray, np.dtype,
                 *(type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGSU')]


class SkippedTrainingState:
    """Stands in, in a loaded checkpoint, for mmengine's ``HistoryBuffer``: the running log
    values a stock mmengine checkpoint keeps in its ``message_hub``. Nothing of the file's object
    is built; loading weights and testing never read it."""

    def __setstate__(self, state):
        pass

    def __repr__(self):
        return 'SkippedTrainingState()'


def _skipped_getattr(obj, name, *default):
    """Stands in for ``getattr``, which a ``HistoryBuffer`` pickles its statistics methods
    with: returns nothing, so no attribute a file names is ever looked up."""
    return None


# A checkpoint written by mmengine's own CheckpointHook (mmdet's tools/train.py) holds its
# message hub's HistoryBuffer objects, which torch's weights_only loading refuses. Loaded here
# with inert stand-ins in their place, under the names the file uses: the weights and the plain
# metadata load, and no code the file names runs.
TRAINING_STATE_STAND_INS = [
    (SkippedTrainingState, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (_skipped_getattr, 'builtins.getattr'),
]


def read_checkpoint(filename: str, config_key: str = 'checkpoint',
                    trust_checkpoint: bool = False):
    """``torch.load`` a local checkpoint file with ``weights_only``: tensors, plain types, numpy
    arrays and scalars of plain dtypes, and a stock mmengine checkpoint's training log (read as
    :class:`SkippedTrainingState`). ``trust_checkpoint=True`` unpickles in full.

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the file names anything else (refused before it runs); the
            message says how to load it if it is trusted.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{config_key}: no checkpoint file at {filename!r}')
    if trust_checkpoint:
        warnings.warn(f'Loading {filename} with trust_checkpoint=True: {UNSAFE_LOAD_RISK}.')
        return torch.load(filename, map_location='cpu', weights_only=False)
    try:
        with torch.serialization.safe_globals(NUMPY_GLOBALS + TRAINING_STATE_STAND_INS):
            return torch.load(filename, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'Refused to load {filename} ({config_key}): it contains objects beyond the tensors '
            f'and plain types a checkpoint needs, and {UNSAFE_LOAD_RISK}. If you do trust it, '
            f'set trust_checkpoint=True next to {config_key}. torch said: {err}') from None


def local_checkpoint(filename: str, config_key: str = 'checkpoint') -> str:
    """``filename`` itself, or for an http(s) URL the file in torch's hub cache
    (``<torch.hub.get_dir()>/checkpoints/<file name>``, where mmengine's loader keeps them too),
    downloaded there first when it is not there yet.

    Raises:
        FileNotFoundError: the download failed (offline, say); the message names the URL and
            the path to put the file at.
    """
    if not filename.startswith(('http://', 'https://')):
        return filename
    cached = osp.join(torch.hub.get_dir(), 'checkpoints',
                      osp.basename(urllib.parse.urlparse(filename).path))
    if not osp.isfile(cached):
        os.makedirs(osp.dirname(cached), exist_ok=True)
        try:
            torch.hub.download_url_to_file(filename, cached, progress=False)
        except (OSError, urllib.error.URLError) as err:
            raise FileNotFoundError(f'{config_key}: could not download {filename} ({err}); '
                                    f'without a network, put the file at {cached}') from None
    return cached


def load_checkpoint_strict(model, filename, trust_checkpoint=False, config_key='checkpoint'):
    """Load ``filename`` into ``model`` with every key accounted for.

    Args:
        model (nn.Module): receives the weights.
        filename (str): a checkpoint file (mmengine's format or a bare state dict), or its
            http(s) URL (see :func:`local_checkpoint`), read by :func:`read_checkpoint`.
        trust_checkpoint (bool): unpickle in full (runs code the file names). Default False.
        config_key (str): the config key that named the file, quoted in error messages.

    Raises:
        FileNotFoundError: no such file, or a URL that cannot be fetched (the message names the
            path to put the file at).
        pickle.UnpicklingError: the file names a type beyond what ``weights_only`` loading
            allows and ``trust_checkpoint`` is False. Nothing from the file has run.
        RuntimeError: missing or unexpected keys, or shapes that differ (all listed).
    """
    checkpoint = read_checkpoint(local_checkpoint(filename, config_key), config_key,
                                 trust_checkpoint)
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise RuntimeError(f'{config_key}: {filename} holds no state dict')
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    try:
        load_state_dict(model, state_dict, strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'{config_key}: {filename} does not fit the model '
                           f'(is it a checkpoint of this architecture?). {err}') from None
    return checkpoint
