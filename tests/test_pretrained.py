"""torchvision MobileNetV2 ImageNet weights -> mmdet's MobileNetV2."""
from collections import OrderedDict

import pytest
import torch
from mmdet.models.backbones import MobileNetV2

from conftest import STUDENT_CONFIG
from mmkd.utils.pretrained import mobilenet_v2_to_mmdet, torchvision_mobilenet_v2_file


def test_pairs_in_order_and_refuses_what_does_not_pair():
    source = OrderedDict([('features.0.0.weight', torch.ones(4, 3, 1, 1)),
                          ('features.0.1.weight', torch.full((4,), 2.)),
                          ('features.0.1.bias', torch.full((4,), 3.)),
                          ('classifier.1.weight', torch.ones(10, 4))])
    target = OrderedDict([('conv1.conv.weight', torch.zeros(4, 3, 1, 1)),
                          ('conv1.bn.weight', torch.zeros(4)), ('conv1.bn.bias', torch.zeros(4))])
    renamed = mobilenet_v2_to_mmdet(source, target)
    assert list(renamed) == list(target)
    assert renamed['conv1.bn.bias'][0] == 3.
    swapped = OrderedDict(reversed(list(target.items())))
    with pytest.raises(ValueError, match='features.0.0.weight .* does not pair with conv1.bn.bias'):
        mobilenet_v2_to_mmdet(source, swapped)
    with pytest.raises(ValueError, match='3 torchvision tensors .* vs 2 in the mmdet'):
        mobilenet_v2_to_mmdet(source, OrderedDict(list(target.items())[:2]))


def test_imagenet_weights_load_strictly_into_mmdet_mobilenet_v2():
    weights = torch.load(torchvision_mobilenet_v2_file(), map_location='cpu', weights_only=True)
    model = MobileNetV2(out_indices=(2, 4, 6))
    model.load_state_dict(mobilenet_v2_to_mmdet(weights, model.state_dict()), strict=True)
    assert torch.equal(model.conv1.conv.weight, weights['features.0.0.weight'])
    assert torch.equal(model.conv2.bn.running_var, weights['features.18.1.running_var'])
    assert torch.equal(model.layer7[0].linear_conv.conv.weight, weights['features.17.conv.2.weight'])


def test_config_scheme_initialises_the_backbone_with_imagenet_weights():
    from mmdet.registry import MODELS
    weights = torch.load(torchvision_mobilenet_v2_file(), map_location='cpu', weights_only=True)
    backbone = MODELS.build(dict(type='MobileNetV2', init_cfg=dict(
        type='Pretrained', checkpoint='mmkd://imagenet/mobilenet_v2')))
    assert not torch.equal(backbone.conv1.conv.weight, weights['features.0.0.weight'])
    backbone.init_weights()
    assert torch.equal(backbone.conv1.conv.weight, weights['features.0.0.weight'])
    assert torch.equal(backbone.layer4[2].depthwise_conv.conv.weight, weights['features.9.conv.1.0.weight'])


def test_unknown_imagenet_name_lists_what_there_is():
    from mmengine.runner import CheckpointLoader
    with pytest.raises(KeyError, match=r"no ImageNet weights named 'resnet50'; available: "
                                       r"\['mobilenet_v2'\]"):
        CheckpointLoader.load_checkpoint('mmkd://imagenet/resnet50')


@pytest.fixture
def no_torchvision(monkeypatch, tmp_path):
    """torch's hub cache in ``tmp_path`` and ``import torchvision`` failing, as on an install
    without torchvision (mmkd's own)."""
    import builtins
    real_import = builtins.__import__

    def import_without_torchvision(name, *args, **kwargs):
        if name == 'torchvision' or name.startswith('torchvision.'):
            raise ImportError('No module named torchvision')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', import_without_torchvision)
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    return tmp_path / 'hub' / 'checkpoints'


def test_torchvision_scheme_reads_the_hub_cache_without_torchvision(no_torchvision):
    """mmdet's configs start ResNets from ``torchvision://resnet50``: the file of that name's
    URL in mmengine's table (torchvision's resnet50-0676ba61.pth) is what loads."""
    from mmengine.runner import CheckpointLoader
    no_torchvision.mkdir(parents=True)
    weights = {'conv1.weight': torch.randn(64, 3, 7, 7)}
    torch.save(weights, no_torchvision / 'resnet50-0676ba61.pth')
    loaded = CheckpointLoader.load_checkpoint('torchvision://resnet50', map_location='cpu')
    torch.testing.assert_close(loaded, weights, rtol=0, atol=0)


def test_torchvision_scheme_offline_names_the_file_to_put_in_place(no_torchvision, monkeypatch):
    from mmengine.runner import CheckpointLoader

    def offline(url, dst, *args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(FileNotFoundError) as error:
        CheckpointLoader.load_checkpoint('torchvision://resnet18')
    assert 'torchvision://resnet18' in str(error.value)
    assert str(no_torchvision / 'resnet18-f37072fd.pth') in str(error.value)
    with pytest.raises(KeyError, match="'resnet17' is not in"):
        CheckpointLoader.load_checkpoint('torchvision://resnet17')


def test_module_command_writes_the_weights_file(tmp_path, monkeypatch, capsys):
    """``python -m mmkd.utils.pretrained FILE`` (the VOC guide's command) runs the module a
    second time, as ``__main__``, beside the imported one: its scheme registers again."""
    import runpy
    out = tmp_path / 'mobilenet_v2_imagenet.pth'
    monkeypatch.setattr('sys.argv', ['pretrained', str(out)])
    runpy.run_module('mmkd.utils.pretrained', run_name='__main__')
    state = torch.load(out, weights_only=True)['state_dict']
    MobileNetV2(out_indices=(2, 4, 6)).load_state_dict(state, strict=True)
    assert f'wrote {len(state)} tensors to {out}' in capsys.readouterr().out


def test_a_load_from_url_offline_names_the_file_to_put_in_place(no_torchvision, monkeypatch):
    """A config's ``load_from`` model-zoo URL: fetched into torch's hub cache when a run's config
    is read (offline: an error naming ``load_from`` and the path), read from there when the
    file is in place."""
    from mmkd.utils import load_run_config

    def offline(url, dst, *args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    url = 'https://download.openmmlab.com/mmdetection/v2.0/x/faster_rcnn_zoo.pth'
    cached = no_torchvision / 'faster_rcnn_zoo.pth'        # the fixture's hub checkpoints
    with pytest.raises(FileNotFoundError) as error:
        load_run_config(STUDENT_CONFIG, dict(load_from=url))
    assert str(error.value).startswith(f'load_from: could not download {url}')
    assert str(cached) in str(error.value)
    cached.write_bytes(b'weights')
    assert load_run_config(STUDENT_CONFIG, dict(load_from=url)).load_from == str(cached)
    assert load_run_config(STUDENT_CONFIG, dict(load_from='work_dirs/x.pth')).load_from == 'work_dirs/x.pth'
