"""Mixed precision, distributed training and resume after a crash."""
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from conftest import REVIEWKD_CONFIG, ROOT, distill_model_config, run_tool
from mmkd.registry import MODELS
from test_cls_map_kd import build_clskd, face_batch
from test_distill_detector import fake_batch
from test_frcnn_kd import build_hint
from test_tools_e2e import tiny_data_options


@pytest.mark.parametrize('method', ['reviewkd', 'hint', 'clskd'])
def test_bf16_autocast_on_cpu_trains_with_fp32_distill_losses(method, teacher_checkpoint,
                                                              tmp_path):
    if method == 'clskd':
        model, (inputs, samples) = build_clskd(tmp_path), face_batch()
    else:
        cfg = Config.fromfile(REVIEWKD_CONFIG).model
        cfg.teacher.checkpoint = teacher_checkpoint
        model = MODELS.build(cfg) if method == 'reviewkd' else build_hint(teacher_checkpoint)
        inputs, samples = fake_batch()
    optim_wrapper = build_optim_wrapper(model, dict(type='mmkd.AutocastOptimWrapper',
                                                    optimizer=dict(type='SGD', lr=0.01)))
    backbone_dtypes = []
    model.student.backbone.register_forward_hook(
        lambda module, args, out: backbone_dtypes.append(out[-1].dtype))
    model.train()
    for _ in range(2):
        with optim_wrapper.optim_context(model):
            losses = model.loss(inputs, samples)
        loss, logs = model.parse_losses(losses)
        optim_wrapper.update_params(loss)
    assert backbone_dtypes == [torch.bfloat16] * 2              # the student ran in bf16
    distill = {k: v for k, v in losses.items()
               if k.startswith('loss') and 'kd' in k or k in ('loss_hint', 'loss_reviewkd')}
    assert distill and all(v.dtype == torch.float32 for v in distill.values())
    assert all(torch.isfinite(v).all() for v in logs.values()), logs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def logged_names(log: str) -> set:
    return set(re.findall(r'\b(loss\w*|acc): -?\d', log))


def ddp_options(work, teacher_checkpoint):
    return tiny_data_options(work / 'data') + [
        f'model.teacher.checkpoint={teacher_checkpoint}', 'train_dataloader.batch_size=2',
        'default_hooks.logger.interval=1', 'randomness.seed=0']


def dist_train(work_dir, options, nproc, env=None):
    """``tools/dist_train.sh REVIEWKD_CONFIG nproc`` in the background; returns the process."""
    return subprocess.Popen(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), REVIEWKD_CONFIG, str(nproc),
         '--work-dir', str(work_dir), '--cfg-options', *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # one thread per process whatever the launch (torchrun sets it only for several
        # processes per machine), so that launches of 1 and of 2 processes sum alike
        env={**os.environ, 'PYTHON': sys.executable, 'OMP_NUM_THREADS': '1', **(env or {})})


def finished_log(proc):
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log[-6000:]
    return log


@pytest.fixture(scope='module')
def two_process_run(tmp_path_factory, teacher_checkpoint):
    """One machine, two processes: (work dir, log)."""
    work = tmp_path_factory.mktemp('ddp')
    log = finished_log(dist_train(work / 'two', ddp_options(work, teacher_checkpoint), 2,
                                  dict(PORT=str(free_port()))))
    return work / 'two', log


def test_two_process_ddp_on_cpu_logs_the_losses_of_a_single_process_run(tmp_path,
                                                                          teacher_checkpoint,
                                                                          two_process_run):
    single = run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(tmp_path / 'one'),
                      '--cfg-options', *ddp_options(tmp_path, teacher_checkpoint))
    work_dir, log = two_process_run
    assert 'Distributed training: True' in log and "type='MMDistributedDataParallel'" in log
    # 8 images, 2 per process and step: 2 steps per epoch on 2 processes (4 on one)
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\]', log)
    assert logged_names(log) == logged_names(single) >= {'loss_reviewkd', 'loss_cls'}
    assert 'coco/bbox_mAP' in log
    saved = torch.load(work_dir / 'epoch_1.pth', weights_only=True)['state_dict']
    assert any(k.startswith('distillers.0.abfs') for k in saved)
    assert not any(k.startswith(('module.', 'teacher')) for k in saved)


def test_two_nodes_train_to_the_weights_of_two_processes_on_one(tmp_path, teacher_checkpoint,
                                                                two_process_run):
    """NNODES=2: two launches of dist_train.sh, one process each, meet at MASTER_ADDR:PORT (here
    both on this machine, as two nodes would on two) and reach the same weights as one launch
    of two processes: same ranks, same data shards, same seed."""
    options = ddp_options(tmp_path, teacher_checkpoint)
    nodes = dict(NNODES='2', MASTER_ADDR='127.0.0.1', PORT=str(free_port()))
    launches = [dist_train(tmp_path / f'node{rank}', options, 1, dict(nodes, NODE_RANK=str(rank)))
                for rank in (0, 1)]
    logs = [finished_log(proc) for proc in launches]
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\]', logs[0])
    assert not osp.exists(tmp_path / 'node1' / 'epoch_1.pth')   # rank 0 alone saves
    two_nodes = torch.load(tmp_path / 'node0' / 'epoch_1.pth', weights_only=True)['state_dict']
    one_node = torch.load(two_process_run[0] / 'epoch_1.pth', weights_only=True)['state_dict']
    assert two_nodes.keys() == one_node.keys()
    for key, value in one_node.items():
        torch.testing.assert_close(two_nodes[key], value, rtol=0, atol=1e-6, msg=key)


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path,
                                                                     teacher_checkpoint):
    # main-process data loading: worker processes keep generator states no checkpoint holds
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={teacher_checkpoint}', 'train_cfg.max_epochs=2',
        'train_cfg.val_interval=10', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'randomness.seed=0']
    killing = tmp_path / 'killed_at_iteration_3.py'
    killing.write_text(f"_base_ = [{REVIEWKD_CONFIG!r}]\n"
                       "custom_imports = dict(imports=['mmkd', 'kill_hook'])\n"
                       "custom_hooks = [dict(type='mmkd.PlainCheckpointHook'),\n"
                       "                dict(type='mmkd.KillAfterIteration', iteration=3)]\n")
    tests_dir = osp.dirname(osp.abspath(__file__))
    run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(tmp_path / 'straight'),
             '--cfg-options', *options)

    crashed = subprocess.run(
        [sys.executable, 'tools/train.py', str(killing), '--work-dir', str(tmp_path / 'crash'),
         '--cfg-options', *options], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, 'PYTHONPATH': tests_dir})
    assert crashed.returncode == -9, crashed.stderr[-3000:]       # SIGKILL, mid epoch 2
    assert osp.isfile(tmp_path / 'crash' / 'epoch_1.pth')
    assert not osp.exists(tmp_path / 'crash' / 'epoch_2.pth')

    log = run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(tmp_path / 'crash'),
                   '--resume', '--cfg-options', *options)
    assert 'resumed epoch: 1, iter: 2' in log and 'teacher: loaded' in log
    straight = torch.load(tmp_path / 'straight' / 'epoch_2.pth', weights_only=True)
    resumed = torch.load(tmp_path / 'crash' / 'epoch_2.pth', weights_only=True)
    assert straight['meta']['iter'] == resumed['meta']['iter'] == 4
    # bit for bit: the same batches in the same order, the same random draws, the same kernels
    for key, value in straight['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    momentum = [s['momentum_buffer'] for s in straight['optimizer']['state'].values()]
    resumed_momentum = [s['momentum_buffer'] for s in resumed['optimizer']['state'].values()]
    assert len(momentum) == len(resumed_momentum) > 0
    assert all(torch.equal(a, b) for a, b in zip(momentum, resumed_momentum))

def amp_wrapper_on_cpu(model, wrapper_type, monkeypatch):
    """mmengine's AmpOptimWrapper (or mmkd's) with a CPU GradScaler: its GPU check patched,
    the scaler's step and update are the same code on the CPU."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    wrapper = build_optim_wrapper(model, dict(
        type=wrapper_type, optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=256.0)
    return wrapper


def test_a_skipped_step_under_loss_scaling_leaves_weights_and_scaler_alone(teacher_checkpoint,
                                                                         monkeypatch):
    from test_bad_inputs import poison, step
    model = poison(MODELS.build(distill_model_config(teacher_checkpoint,
                                                     nonfinite_loss='skip')), 'loss_reviewkd')
    with pytest.raises(AssertionError, match='No inf checks were recorded'):   # mmengine's
        step(model, *fake_batch(), amp_wrapper_on_cpu(model, 'AmpOptimWrapper', monkeypatch))

    wrapper = amp_wrapper_on_cpu(model, 'mmkd.AmpOptimWrapper', monkeypatch)
    before = {k: v.clone() for k, v in model.named_parameters()}
    loss, logs = step(model, *fake_batch(), wrapper)
    assert loss.item() == 0 and torch.isnan(logs['loss_reviewkd'])
    assert all(torch.equal(v, before[k]) for k, v in model.named_parameters())
    assert not wrapper.optimizer.state and wrapper.loss_scaler.get_scale() == 256.0

    del model.distillers[0].forward                   # healthy again: the next step updates
    step(model, *fake_batch(), wrapper)
    assert not torch.equal(model.student.backbone.conv1.weight, before['student.backbone.conv1.weight'])
    assert wrapper.optimizer.state and wrapper.loss_scaler.get_scale() == 256.0


def test_mmengines_amp_wrapper_next_to_skip_is_refused_by_key():
    from mmkd.utils import check_optim_wrapper
    cfg = Config(dict(model=dict(nonfinite_loss='skip'),
                      optim_wrapper=dict(type='AmpOptimWrapper', optimizer=dict(type='SGD'))))
    with pytest.raises(ValueError, match=r"optim_wrapper.type='AmpOptimWrapper' cannot skip a "
                                         r"step \(model.nonfinite_loss='skip'\).*"
                                         r"type='mmkd.AmpOptimWrapper'"):
        check_optim_wrapper(cfg)
    cfg.optim_wrapper.type = 'mmkd.AmpOptimWrapper'
    check_optim_wrapper(cfg)


def test_slurm_train_asks_srun_for_one_task_per_gpu_over_the_nodes(tmp_path):
    """tools/slurm_train.sh against a stand-in ``srun`` that records what it was asked."""
    record = tmp_path / 'srun_args'
    fake = tmp_path / 'bin' / 'srun'
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'gpu', 'kd', 'cfg.py', 'work',
         '--cfg-options', 'a=1'], check=True, cwd=ROOT,
        env={**os.environ, 'PATH': f'{fake.parent}:{os.environ["PATH"]}', 'GPUS': '16',
             'GPUS_PER_NODE': '8', 'SRUN_ARGS': '--qos=high --time=2:00:00', 'PYTHON': 'py'})
    args = record.read_text().splitlines()
    assert args[:8] == ['-p', 'gpu', '--job-name=kd', '--gres=gpu:8', '--ntasks=16',
                        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert args[8:] == ['--qos=high', '--time=2:00:00', 'py', '-u',
                        osp.join(ROOT, 'tools', 'train.py'), 'cfg.py', '--work-dir=work',
                        '--launcher=slurm', '--cfg-options', 'a=1']
