"""Train a detector (plain mmdet or mmkd.DistillDetector) from a config file.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                             [--cfg-options k=v]
"""
import argparse
import os

import torch
import torch.distributed as dist
from mmengine.config import DictAction
from mmengine.runner import Runner

from mmkd.utils import check_dataset_files, check_optim_wrapper, config_argument, load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', type=config_argument, help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go; default '
                        'work_dirs/<config name>')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir '
                        'when given without a value')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 on a GPU, bf16 autocast on the CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the learning rate by the images per step (GPUs x the "
                        "config's batch size) over the config's auto_scale_lr.base_batch_size, "
                        "as mmdet's tools/train.py does")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.distillers.0.loss_weight=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def use_mixed_precision(optim_wrapper):
    """fp16 with loss scaling (mmengine's AmpOptimWrapper, as mmkd.AmpOptimWrapper: it can skip
    a step the non-finite guard skipped) on a GPU, bf16 autocast on the CPU."""
    if torch.cuda.is_available():
        optim_wrapper.type = 'mmkd.AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        optim_wrapper.type = 'mmkd.AutocastOptimWrapper'
        optim_wrapper.setdefault('dtype', 'bfloat16')


def enable_auto_scale_lr(cfg):
    """--auto-scale-lr, as mmdet 3.3's tools/train.py: switch on the config's
    ``auto_scale_lr``; mmengine's runner then multiplies the learning rate by (world size x
    batch size) / ``base_batch_size``. A config without ``auto_scale_lr.base_batch_size`` is an
    error, not a silent no-op."""
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not isinstance(auto_scale_lr, dict) or 'enable' not in auto_scale_lr \
            or 'base_batch_size' not in auto_scale_lr:
        raise RuntimeError('Can not find "auto_scale_lr" or "auto_scale_lr.enable" or '
                           '"auto_scale_lr.base_batch_size" in your configuration file.')
    auto_scale_lr.enable = True


def join_cpu_process_group(cfg):
    """DDP on CPUs. mmengine's pytorch launcher assumes GPUs (it calls torch.cuda.set_device),
    so join the gloo group here (mmengine then skips its own init) and wrap the model without
    device_ids. The teacher is no submodule of the model, so DDP never sees it."""
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel',
                                                   broadcast_buffers=False)
    wrapper.setdefault('device_ids', None)
    # what mmengine's own wrapper reads from the config (the MobileNetV2 recipes set it)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def main():
    args = parse_args()
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        join_cpu_process_group(cfg)
    check_dataset_files(cfg, splits=('train', 'val') if cfg.get('val_cfg') else ('train',))
    if args.amp:
        use_mixed_precision(cfg.optim_wrapper)
    check_optim_wrapper(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
