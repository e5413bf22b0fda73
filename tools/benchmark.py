"""What distillation costs, per shipped config: a student training step, a teacher forward and a
distilled training step, measured in one run on the same batches.

    python tools/benchmark.py configs/reviewkd_frcnn.py [more configs] [--iters 20]
        [--random-teacher] [--device cuda] [--clock cpu] [--out costs.json] [--cfg-options k=v]

Prints seconds and peak memory of each phase and
``overhead = t(distill step) / (t(student step) + t(teacher forward))`` (1.0 is the floor), the
teacher forward being all the teacher runs in a distilled step (backbone, neck, and the heads
distillers run on the student's RoIs: "heads" in the table). The distilled step's time beyond
that floor is split into "distillers" (connectors and losses, forward and backward) and "rest"
(the rest: optimizer step of the connectors, taps, noise).
``--random-teacher`` uses the teacher at its initial weights (speed does not depend on them), so no
trained teacher is needed.
"""
import argparse
import json
import os.path as osp
import tempfile
import time

import torch
from mmdet.registry import MODELS
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registers mmkd's modules)
from mmkd.apis.benchmark import distill_cost
from mmkd.models.teacher import load_model_config
from mmkd.utils import config_argument, load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Cost of distillation per config')
    parser.add_argument('configs', nargs='+', type=config_argument, help='distillation configs')
    parser.add_argument('--iters', type=int, default=20, help='measured rounds')
    parser.add_argument('--warmup', type=int, default=3, help='unmeasured rounds first')
    parser.add_argument('--batches', type=int, default=4, help='distinct batches, cycled')
    parser.add_argument('--random-teacher', action='store_true',
                        help='teacher at initial weights instead of its checkpoint')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='wall time (default), or CPU seconds of this process: steadier '
                             'on a CPU other processes load; use with OMP_NUM_THREADS=1 so '
                             'that waiting threads do not count')
    parser.add_argument('--out', help='also write the figures to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (applied to every config)')
    return parser.parse_args()


def fresh_teacher_checkpoint(teacher_config, directory: str) -> str:
    teacher = MODELS.build(load_model_config(teacher_config))
    teacher.init_weights()
    path = osp.join(directory, 'teacher_init.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def preprocessed_batches(cfg, model, count: int, device: str) -> list:
    loader_cfg = cfg.train_dataloader
    loader_cfg.update(num_workers=0, persistent_workers=False)
    batches = []
    for batch in Runner.build_dataloader(loader_cfg, seed=0):
        data = model.data_preprocessor(batch, True)
        batches.append((data['inputs'].to(device), data['data_samples']))
        if len(batches) == count:
            break
    return batches


def main():
    args = parse_args()
    if args.clock == 'cpu' and args.device != 'cpu':
        raise SystemExit('--clock cpu measures CPU seconds: use it with --device cpu')
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    init_default_scope('mmdet')
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            cfg = load_run_config(config, args.cfg_options, work_dir=tmp)
            if args.random_teacher:
                cfg.model.teacher.checkpoint = fresh_teacher_checkpoint(
                    cfg.model.teacher.config, tmp)
            model = MODELS.build(cfg.model).to(args.device)
            batches = preprocessed_batches(cfg, model, args.batches, args.device)
            rows[osp.basename(config)] = distill_cost(model, cfg.model.student, batches,
                                                      args.iters, args.warmup, clock=clock)
            print(f'{osp.basename(config)}: ' + ', '.join(
                f'{k}={v:.3f}' for k, v in rows[osp.basename(config)].items()), flush=True)
    print(table(rows, args))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)


def table(rows: dict, args) -> str:
    """Markdown table: seconds and overhead, the breakdown of the distilled step, peak MiB."""
    lines = [f'\n{args.device}, {args.clock} clock, {args.batches} distinct batches cycled, '
             f'median of {args.iters} rounds:',
             '| config | student step s | teacher fwd s (heads) | distill step s | overhead | '
             'distillers s | rest s | student MB | teacher MB | distill MB | memory overhead |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for name, r in rows.items():
        heads = r['teacher_forward_s'] - r['teacher_backbone_neck_s']
        lines.append(f"| {name} | {r['student_step_s']:.3f} | {r['teacher_forward_s']:.3f} "
                     f"({heads:.3f}) | {r['distill_step_s']:.3f} | {r['overhead']:.3f} | "
                     f"{r['distillers_s']:.3f} | {r['rest_s']:.3f} | "
                     f"{r['student_step_peak_mb']:.0f} | {r['teacher_forward_peak_mb']:.0f} | "
                     f"{r['distill_step_peak_mb']:.0f} | {r['memory_overhead']:.2f} |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
