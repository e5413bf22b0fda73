"""The parity guarantee: inside the distiller, with every distill loss weighted 0, the student
trains exactly as it does alone (the answer to "the student is worse inside the distiller")."""
import pytest
import torch

from conftest import CONFIGS, REVIEWKD_CONFIG, STUDENT_CONFIG, run_tool
from test_tools_e2e import tiny_data_options

HINT_CONFIG = f'{CONFIGS}/hint_frcnn.py'


def student_weights(checkpoint, prefix=''):
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


@pytest.fixture(scope='module')
def alone(tmp_path_factory):
    """The student trained alone for an epoch (2 steps), once for every case: the run's options
    and its checkpoint."""
    work = tmp_path_factory.mktemp('parity')
    common = tiny_data_options(work / 'data') + [
        'randomness.seed=0', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False']
    run_tool('tools/train.py', STUDENT_CONFIG, '--work-dir', str(work / 'alone'),
             '--cfg-options', *common)
    return common, work / 'alone' / 'epoch_1.pth'


@pytest.mark.parametrize('config, zero_weights', [
    (REVIEWKD_CONFIG, ['model.distillers.0.loss_weight=0']),
    # hint KD: the hint's weight 0 and mu=1 (no soft labels), nu=0 (no bounded regression) on
    # the RPN and the RoI head: the student's own losses at full weight, nothing else
    (HINT_CONFIG, ['model.distillers.0.loss_weight=0'] + [
        f'model.distillers.{i}.{key}' for i in (1, 2) for key in ('mu=1.0', 'nu=0.0')]),
], ids=['reviewkd', 'hint_kd'])
def test_distill_weights_at_zero_train_the_student_as_alone(config, zero_weights, tmp_path,
                                                            teacher_checkpoint, alone):
    common, alone_checkpoint = alone
    run_tool('tools/train.py', config, '--work-dir', str(tmp_path / 'distilled'),
             '--cfg-options', *common, f'model.teacher.checkpoint={teacher_checkpoint}',
             *zero_weights)
    alone_weights = student_weights(alone_checkpoint)
    distilled = student_weights(tmp_path / 'distilled' / 'epoch_1.pth', 'student.')
    assert distilled.keys() == alone_weights.keys()
    for name, value in alone_weights.items():
        torch.testing.assert_close(distilled[name], value, rtol=0, atol=1e-6, msg=name)
