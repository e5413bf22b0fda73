"""Deep mutual learning (mmkd.MutualDetector): peers that learn from each other, all trained,
all checkpointed, each exportable alone."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from conftest import CONFIGS
from mmkd.apis import export_student
from mmkd.registry import MODELS
from test_distill_detector import fake_batch

DML = osp.join(CONFIGS, 'dml_retinanet_face.py')


def face_batch():
    inputs, samples = fake_batch(size=128)
    for sample in samples:
        sample.gt_instances.labels.zero_()
    return inputs, samples


def build():
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DML).model)
    model.init_weights()
    return model


def test_each_peer_learns_the_others_posteriors_and_not_through_them():
    model = build()
    first, second = model.peers
    # each peer had its own initialisation (RetinaNet's prior-probability bias of 0.01)
    for peer in model.peers:
        assert torch.allclose(peer.bbox_head.retina_cls.bias.sigmoid(), torch.tensor(0.01))
    assert not torch.equal(first.bbox_head.retina_cls.weight, second.bbox_head.retina_cls.weight)
    inputs, samples = face_batch()
    losses = model.loss(inputs, samples)
    assert {'peer0.loss_cls', 'peer1.loss_cls', 'peer0_from_peer1.loss_logit_kd',
            'peer1_from_peer0.loss_logit_kd'} <= set(losses)
    # peer 0's mutual term is the binary KL (T 1) from peer 1's face probability to its own,
    # averaged over every anchor, peer 1 held fixed; one class, so the maps align element-wise
    with torch.no_grad():
        learner, peer = (torch.cat([level.flatten() for level in m(inputs)[0]]).double()
                         .sigmoid() for m in (first, second))
    expected = (peer * (peer / learner).log()
                + (1 - peer) * ((1 - peer) / (1 - learner)).log()).mean()
    assert losses['peer0_from_peer1.loss_logit_kd'].item() == pytest.approx(expected.item(),
                                                                             rel=1e-4)
    losses['peer0_from_peer1.loss_logit_kd'].backward()
    assert first.bbox_head.retina_cls.weight.grad.abs().sum() > 0
    assert second.bbox_head.retina_cls.weight.grad is None       # the teacher side is detached


def test_both_peers_train_are_checkpointed_and_export_alone(tmp_path):
    model = build()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    trained = {id(p) for group in optim.optimizer.param_groups for p in group['params']}
    assert all(id(p) in trained for p in model.peers[1].parameters())
    before = [p.bbox_head.retina_cls.weight.clone() for p in model.peers]
    model.train()
    loss, _ = model.parse_losses(model.loss(*face_batch()))
    optim.update_params(loss)
    assert all(not torch.equal(b, p.bbox_head.retina_cls.weight)
               for b, p in zip(before, model.peers))
    state = model.state_dict()
    assert any(k.startswith('peers.1.') for k in state)
    checkpoint = tmp_path / 'dml.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), checkpoint)
    config_out, weights_out = export_student(DML, str(checkpoint), str(tmp_path / 'peer1'), peer=1)
    exported = torch.load(weights_out, weights_only=True)['state_dict']
    assert torch.equal(exported['bbox_head.retina_cls.weight'],
                       model.peers[1].bbox_head.retina_cls.weight)
    assert Config.fromfile(config_out).model.type == 'RetinaNet'
    with pytest.raises(ValueError, match='name the one to export'):
        export_student(DML, str(checkpoint), str(tmp_path / 'none'))


def test_a_distiller_that_rescales_the_students_own_losses_is_refused():
    cfg = Config.fromfile(DML).model
    cfg.distillers.append(dict(type='mmkd.RPNKD', mu=0.5))
    with pytest.raises(ValueError, match=r'model.distillers\[1\]: RPNKD rescales the '
                                         r'student\'s own losses \(loss_rpn_cls\)'):
        MODELS.build(cfg)
