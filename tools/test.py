"""Evaluate a checkpoint with the config's test evaluator (COCO mAP for the shipped configs).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v]
"""
import argparse

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmkd.utils import check_dataset_files, load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test a detector checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the test log goes')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    check_dataset_files(cfg, splits=('test',))
    cfg.load_from = args.checkpoint
    metrics = Runner.from_cfg(cfg).test()
    print({key: round(float(value), 4) for key, value in metrics.items()})


if __name__ == '__main__':
    main()
