"""Loading checkpoints on torch >= 2.6 without unpickling arbitrary code.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: tensors, containers and plain
types only. mmkd keeps it that way for every load: checkpoints that mmkd's tools write hold
plain types only (:class:`mmkd.engine.PlainCheckpointHook`), and a file that names anything
else (a crafted pickle's ``os.system``, a stock mmengine checkpoint's ``getattr``) is refused
before any of its code runs. ``trust_checkpoint=True`` is the explicit opt-in to full
unpickling, for files the user vouches for.
"""
import os.path as osp
import pickle
import re
import warnings

import torch
from mmengine.runner.checkpoint import load_state_dict

UNSAFE_LOAD_RISK = ('unpickling it in full runs whatever code the file names, so do this only '
                    'for a file you produced yourself or otherwise trust')


def load_checkpoint_strict(model, filename, trust_checkpoint=False, config_key='checkpoint'):
    """Load ``filename`` into ``model`` with every key accounted for.

    Args:
        model (nn.Module): receives the weights.
        filename (str): a local checkpoint file (mmengine's format or a bare state dict).
        trust_checkpoint (bool): unpickle in full (runs code the file names). Default False.
        config_key (str): the config key that named the file, quoted in error messages.

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the file names a type beyond what ``weights_only`` loading
            allows and ``trust_checkpoint`` is False. Nothing from the file has run.
        RuntimeError: missing or unexpected keys, or shapes that differ (all listed).
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{config_key}: no checkpoint file at {filename!r}')
    if trust_checkpoint:
        warnings.warn(f'Loading {filename} with trust_checkpoint=True: {UNSAFE_LOAD_RISK}.')
    try:
        checkpoint = torch.load(filename, map_location='cpu', weights_only=not trust_checkpoint)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'Refused to load {filename} ({config_key}): it contains objects beyond the tensors '
            f'and plain types a checkpoint needs, and {UNSAFE_LOAD_RISK}. If you do trust it, '
            f'set trust_checkpoint=True next to {config_key}. torch said: {err}') from None
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
