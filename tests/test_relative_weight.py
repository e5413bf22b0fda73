"""loss_weight=dict(ratio=r, over_iters=n): a distiller's losses set to r times the detection loss.

Mutations these tests were run against (each fails one): the mean taken over the weighted
instead of the unweighted loss; the weight still moving after ``over_iters``; the means not
running (the last iteration's ratio instead); the buffers not persistent (a resumed run starts
calibrating again); the weight not detached (the distill gradient changes)."""
import pytest
import torch

from conftest import distill_model_config
from mmkd.models.distillers import BaseDistiller
from mmkd.registry import MODELS
from test_distill_detector import fake_batch


class ScalarDistiller(BaseDistiller):
    """Returns its student record as ``loss_toy``: the unweighted loss is what the test feeds."""

    def __init__(self, loss_weight):
        super().__init__(dict(x='x'), dict(x='x'), loss_weight)

    def loss(self, student_records, teacher_records):
        return dict(loss_toy=student_records['x'], fraction=torch.tensor(0.5))


def weights_by_hand(ratio, over_iters, detection, unweighted):
    """Per iteration: ratio x mean detection loss / mean unweighted loss over the iterations so
    far, frozen at the value of iteration ``over_iters``."""
    weights = []
    for k in range(1, len(detection) + 1):
        seen = min(k, over_iters)
        weights.append(ratio * (sum(detection[:seen]) / seen) / (sum(unweighted[:seen]) / seen))
    return weights


DETECTION = [2.0, 4.0, 6.0, 100.0, 0.5]
UNWEIGHTED = [1.0, 3.0, 2.0, 50.0, 7.0]


def feed(distiller, detection, unweighted):
    outputs = []
    for det, raw in zip(detection, unweighted):
        x = torch.tensor(raw, requires_grad=True)
        out = distiller(dict(x=x), dict(x=torch.tensor(0.)), torch.tensor(det))
        out['loss_toy'].backward()
        outputs.append((out, x.grad.item()))
    return outputs


def test_the_term_is_ratio_times_the_detection_loss_then_the_weight_is_fixed():
    distiller = ScalarDistiller(dict(ratio=0.5, over_iters=3)).train()
    expected = weights_by_hand(0.5, 3, DETECTION, UNWEIGHTED)
    assert expected[3] == expected[2] != expected[1]          # the data make each mutation show
    for (out, grad), weight, raw in zip(feed(distiller, DETECTION, UNWEIGHTED), expected,
                                        UNWEIGHTED):
        assert out['loss_toy'].item() == pytest.approx(weight * raw, rel=1e-6)
        assert out['weight_toy'].item() == pytest.approx(weight, rel=1e-6)
        assert grad == pytest.approx(weight, rel=1e-6)       # a constant factor, no gradient
        assert out['fraction'].item() == 0.5                 # logged values are not weighted
    # first iteration: exactly the ratio
    assert expected[0] * UNWEIGHTED[0] == pytest.approx(0.5 * DETECTION[0])
    assert distiller.loss_weight == pytest.approx(expected[2])


def test_eval_mode_and_a_missing_detection_loss_leave_the_weight_alone():
    distiller = ScalarDistiller(dict(ratio=2.0, over_iters=4)).train()
    feed(distiller, [3.0], [1.0])
    distiller.eval()
    feed(distiller, [100.0], [1.0])
    distiller.train()
    out = distiller(dict(x=torch.tensor(1.0)), dict(x=torch.tensor(0.)))
    assert out['weight_toy'].item() == pytest.approx(6.0)
    fresh = ScalarDistiller(dict(ratio=2.0)).train()
    with pytest.raises(RuntimeError, match='first training iterations'):
        fresh(dict(x=torch.tensor(1.0)), dict(x=torch.tensor(0.)))


@pytest.mark.parametrize('stop_after', [2, 4])
def test_a_resumed_run_keeps_the_calibration_and_the_weight(stop_after):
    """Stopped within the calibration (2 of 3) or after it (4): the state dict, as a checkpoint
    holds it, carries on to the weights of an uninterrupted run."""
    straight = ScalarDistiller(dict(ratio=0.5, over_iters=3)).train()
    expected = [out['weight_toy'].item() for out, _ in feed(straight, DETECTION, UNWEIGHTED)]
    first = ScalarDistiller(dict(ratio=0.5, over_iters=3)).train()
    feed(first, DETECTION[:stop_after], UNWEIGHTED[:stop_after])
    state = first.state_dict()
    assert {'relative_weight.weight', 'relative_weight.iters'} <= set(state)
    resumed = ScalarDistiller(dict(ratio=0.5, over_iters=3)).train()
    resumed.load_state_dict(state)
    after = [out['weight_toy'].item() for out, _ in
             feed(resumed, DETECTION[stop_after:], UNWEIGHTED[stop_after:])]
    assert after == pytest.approx(expected[stop_after:], rel=1e-9)


@pytest.mark.parametrize('loss_weight, message', [
    (dict(ratio=0), 'loss_weight.ratio=0'),
    (dict(ratio=1, over_iters=0), 'loss_weight.over_iters=0'),
    (dict(ratio=1, warmup=3), r"unknown keys \['warmup'\]"),
    (dict(over_iters=3), 'dict\\(ratio=r'),
])
def test_a_bad_relative_weight_names_the_key(loss_weight, message, teacher_checkpoint):
    with pytest.raises(ValueError, match=message):
        ScalarDistiller(loss_weight)
    cfg = distill_model_config(teacher_checkpoint)
    cfg.distillers[0].loss_weight = loss_weight
    with pytest.raises(ValueError, match=r'model\.distillers\[0\] \(mmkd\.ReviewKD\)'):
        MODELS.build(cfg)


def test_in_a_distill_step_the_term_is_ratio_times_the_students_losses(teacher_checkpoint):
    """ReviewKD at ratio 0.3 on the shapes pair: in the first training step its loss is 0.3 x
    the sum of the student's own losses, as mmengine sums them for the backward."""
    cfg = distill_model_config(teacher_checkpoint)
    cfg.distillers[0].loss_weight = dict(ratio=0.3, over_iters=2)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    inputs, samples = fake_batch()
    losses = model.loss(inputs, samples)
    student = {name: value for name, value in losses.items()
               if 'loss' in name and name != 'loss_reviewkd'}
    detection = sum(sum(v.mean() for v in value) if isinstance(value, list) else value.mean()
                    for value in student.values())
    assert set(student) >= {'loss_rpn_cls', 'loss_cls', 'loss_bbox'}
    assert losses['loss_reviewkd'].item() == pytest.approx(0.3 * detection.item(), rel=1e-5)
    total, log_vars = model.parse_losses(losses)
    assert 'weight_reviewkd' in log_vars
    assert total.item() == pytest.approx(1.3 * detection.item(), rel=1e-5)
