"""Deep mutual learning (mmkd.MutualDetector): peers that learn from each other, all trained,
all checkpointed, each exportable alone."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
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


# --- the peer that serves as target is a fixed target ------------------------------------------
from mmkd.models.distillers import BaseDistiller  # noqa: E402
from mmkd.models.distillers.cls_map_kd import classification_maps  # noqa: E402


@MODELS.register_module(force=True)
class RawPeerGapKD(BaseDistiller):
    """A user's distiller that detaches nothing itself (unlike mmkd's losses, which detach the
    teacher and so would hide a peer that is not): the squared gap between the two peers' neck
    maps plus that between their classification maps, the target peer's maps computed by its
    own head in ``teacher_forward``. Whatever gradient reaches the target peer through it is
    the MutualDetector's doing."""

    def __init__(self, **kwargs):
        super().__init__(dict(feats='neck', outputs='bbox_head'), dict(feats='neck'), **kwargs)

    def teacher_forward(self, student_records, teacher_records, teacher):
        return dict(maps=classification_maps(teacher.module('bbox_head'),
                                             teacher_records['feats']))

    def loss(self, student_records, teacher_records):
        feats = sum(((s - t) ** 2).mean() for s, t in zip(student_records['feats'],
                                                           teacher_records['feats']))
        maps = sum(((s - t) ** 2).mean() for s, t in zip(student_records['outputs'][0],
                                                          teacher_records['maps']))
        return dict(loss_raw_gap=feats + maps)


def tensors_in(records):
    if isinstance(records, torch.Tensor):
        return [records]
    if isinstance(records, dict):
        return [t for value in records.values() for t in tensors_in(value)]
    if isinstance(records, (list, tuple)):
        return [t for value in records for t in tensors_in(value)]
    return []


def test_the_target_peer_runs_without_a_graph_and_hands_over_detached_records():
    """Each peer learns from the other as from a fixed target: the target peer's head runs for
    the distillers under ``no_grad`` (no autograd graph is built for it), everything of it a
    distiller receives is detached, and no gradient of a distillation term reaches it, even
    through a distiller that detaches nothing itself.

    Catches: (a) ``teacher_forward`` of a peer run outside ``torch.no_grad`` in
    ``MutualDetector.loss``; (b) the target peer's tapped records not detached (``_detached``
    dropped or made the identity)."""
    cfg = Config.fromfile(DML).model
    cfg.distillers.append(dict(type='RawPeerGapKD'))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    first, second = model.peers
    levels = second.neck.num_outs
    calls = {0: [], 1: []}
    for index, peer in enumerate(model.peers):
        peer.bbox_head.retina_cls.register_forward_hook(
            lambda module, args, out, index=index: calls[index].append(
                (torch.is_grad_enabled(), out.requires_grad)))
    handed = {}
    for direction, distillers in model.distillers.items():
        for distiller in distillers:
            distiller.register_forward_pre_hook(
                lambda module, args, direction=direction: handed.setdefault(
                    direction, []).append(args))
    inputs, samples = face_batch()
    losses = model.loss(inputs, samples)

    # each peer's classifier: once per level with a graph for its own loss, then, as the other's
    # target, once per level per head-running distiller (DenseLogitKD, RawPeerGapKD) without
    for index in (0, 1):
        assert calls[index] == [(True, True)] * levels + [(False, False)] * (2 * levels), index
    # what each distiller receives: the learner's records in its graph, the target's out of any
    assert sorted(handed) == ['peer0_from_peer1', 'peer1_from_peer0']
    for direction, args in handed.items():
        assert len(args) == 2
        for student, taught, _detection in args:
            assert set(taught) >= {'feats', 'maps'}
            assert all(t.requires_grad for t in tensors_in(student)), direction
            assert not any(t.requires_grad or t.grad_fn is not None
                           for t in tensors_in(taught)), direction

    # the raw gap is the formula on the two peers' own forwards; its gradient reaches the learner
    # (neck and classifier) and nothing of the target
    with torch.no_grad():
        f0, f1 = first.extract_feat(inputs), second.extract_feat(inputs)
        m0, m1 = first.bbox_head(f0)[0], second.bbox_head(f1)[0]
    expected = sum(((a - b) ** 2).mean() for a, b in zip(f0, f1)) \
        + sum(((a - b) ** 2).mean() for a, b in zip(m0, m1))
    gap = losses['peer0_from_peer1.loss_raw_gap']
    assert gap.item() == pytest.approx(expected.item(), rel=1e-5)
    gap.backward()
    assert first.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert first.bbox_head.retina_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in second.parameters())


def pkd_by_hand(student, teacher):
    """PKD on one level (MMRazor's PKDLoss): each map standardised per channel over the batch
    and positions (sample std + 1e-6), half the mean squared difference."""
    def standardise(feat):
        flat = feat.permute(1, 0, 2, 3).reshape(feat.shape[1], -1)
        return (flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-6)
    return ((standardise(student) - standardise(teacher)) ** 2).mean() / 2


def test_a_feature_distiller_between_peers_is_its_formula_on_their_necks():
    """PKD on 'neck' between two peers, with a trained 1x1 connector on every level: per
    direction, ``loss_weight * sum over levels of PKD(conv(F_learner), F_target)`` on the peers'
    own neck outputs; its gradient reaches the learner's neck and backbone and that direction's
    connectors, never the target peer, the learner's head or the other direction's connectors.

    Catches: the two peers' records swapped or one peer paired with itself, a feature
    distiller's taps installed on the wrong peer, the connectors shared between directions, and
    (with the test above) any gradient into the target peer."""
    cfg = Config.fromfile(DML).model
    cfg.distillers = [dict(type='mmkd.PKD', loss_weight=2.0, connector='always')]
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    first, second = model.peers
    inputs, samples = face_batch()
    losses = model.loss(inputs, samples)
    assert {'peer0_from_peer1.loss_pkd', 'peer1_from_peer0.loss_pkd'} <= set(losses)
    with torch.no_grad():
        feats = [peer.extract_feat(inputs) for peer in model.peers]
    assert len(feats[0]) == 5
    for learner, target in ((0, 1), (1, 0)):
        direction = f'peer{learner}_from_peer{target}'
        adapters = model.distillers[direction][0].adapters
        with torch.no_grad():
            expected = 2.0 * sum(
                pkd_by_hand(F.conv2d(s, adapter[0].weight, adapter[0].bias), t)
                for adapter, s, t in zip(adapters, feats[learner], feats[target]))
        assert expected > 0
        assert losses[f'{direction}.loss_pkd'].item() == pytest.approx(expected.item(),
                                                                       rel=1e-4), direction
    losses['peer0_from_peer1.loss_pkd'].backward()
    assert first.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first.backbone.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.distillers['peer0_from_peer1'].parameters())
    assert all(p.grad is None for p in model.distillers['peer1_from_peer0'].parameters())
    assert all(p.grad is None for p in first.bbox_head.parameters())
    assert all(p.grad is None for p in second.parameters())
