"""Evaluate a checkpoint with the config's test evaluator (COCO mAP for the shipped configs).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v]

A distillation config (``model.type='mmkd.DistillDetector'``) is tested as its student alone:
the teacher is neither built nor loaded (its checkpoint need not exist any more), and the
student's weights are read from CHECKPOINT (a checkpoint of the distillation run, or of the
student alone), strictly.
"""
import argparse

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmkd.apis.export import is_distill_config, student_test_runner
from mmkd.utils import check_dataset_files, config_argument, load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Test a detector checkpoint')
    parser.add_argument('config', type=config_argument, help='config file path')
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
    if is_distill_config(cfg):   # the student alone: the teacher costs nothing at test time
        runner = student_test_runner(cfg, args.checkpoint)
    else:
        cfg.load_from = args.checkpoint
        runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    print({key: round(float(value), 4) for key, value in metrics.items()})


if __name__ == '__main__':
    main()
