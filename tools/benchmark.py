"""What distillation costs, per shipped config: a student training step, a teacher forward and a
distilled training step, measured in one run on the same batches.

    python tools/benchmark.py configs/reviewkd_frcnn.py [more configs] [--iters 20]
        [--random-teacher] [--device cuda] [--clock cpu] [--out costs.json] [--cfg-options k=v]
        [--methods pkd cwd pkd+rpn_roi_kd ...] [--synthetic 1333 800 [--batch-size 2]]
        [--profile 15] [--amp]

``--methods`` measures each method (the recipe search's terms: ``pkd``, ``cwd``, ``mgd``,
``fgd``, ``reviewkd``, ``rpn_roi_kd``, ``roi_crosskd``, ``ld``, ``crosskd`` (GFL heads),
``retina_crosskd`` (RetinaNet heads), ``logit_kd``; on DETRs ``kd_detr``, ``hungarian_kd``,
``query_prior``, ``target_aware``;
joined by ``+`` for a combination) on each config's pair in place of the config's distillers;
one that does not build on the pair is left out with the reason. ``--synthetic W H`` feeds
random images of that size with random boxes (masks for a mask head) instead of the config's
data, so a COCO-size pair is measured without COCO. ``--profile N`` profiles one distilled step per
row: the seconds of its parts (student loss, copying its records, the teacher's records, the
distill losses, backward, optimizer step) and the top N operators.

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
import copy
import json
import os.path as osp
import tempfile
import time

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmkd  # noqa: F401  (registers mmkd's modules)
from mmkd.apis.benchmark import (build_initialised, distill_cost, fresh_teacher_checkpoint,
                                 method_distillers, profile_distill_step, synthetic_batches)
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
    parser.add_argument('--methods', nargs='+', metavar='METHOD',
                        help="methods measured on each config's pair instead of its own "
                        "distillers: the recipe search's term names, '+' for a combination")
    parser.add_argument('--synthetic', nargs=2, type=int, metavar=('W', 'H'),
                        help='random images of W x H pixels with random boxes instead of the '
                        "config's training data")
    parser.add_argument('--batch-size', type=int, default=2, help='images a batch (--synthetic)')
    parser.add_argument('--profile', type=int, metavar='N', default=0,
                        help='also profile one distilled step per row (torch.profiler): the '
                        'seconds of its parts and the top N operators')
    parser.add_argument('--amp', action='store_true',
                        help='the student step and the distilled step under fp16 mixed '
                        'precision on the GPU, as tools/train.py --amp; the teacher in fp16 '
                        'too: --cfg-options model.teacher.fp16=True')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (applied to every config)')
    return parser.parse_args()


def batches_for(cfg, model, args) -> list:
    """The config's training batches, or with ``--synthetic`` random ones of that size."""
    if not args.synthetic:
        return preprocessed_batches(cfg, model, args.batches, args.device)
    student = cfg.model.student
    head = student.get('roi_head') or {}
    bbox_head = head.get('bbox_head') or student.get('bbox_head') or {}
    if isinstance(bbox_head, (list, tuple)):        # cascade heads: the first stage's classes
        bbox_head = bbox_head[0]
    return synthetic_batches(model, args.batches, args.batch_size, tuple(args.synthetic),
                             num_classes=bbox_head.get('num_classes', 80),
                             with_mask='mask_head' in head, device=args.device)


def variants(cfg, config: str, methods):
    """``(row name, config, model)`` per method (or for the config as it is), built; the
    methods that do not build on the pair are left out with the reason printed."""
    name = osp.basename(config)
    if not methods:
        yield name, cfg, build_initialised(cfg.model)
        return
    for method in methods:
        variant = copy.deepcopy(cfg)
        variant.model.distillers = method_distillers(method)     # an unknown name raises
        try:
            model = build_initialised(variant.model)
        except Exception as err:  # noqa: BLE001 (a build error: the method does not apply)
            reason = str(err).strip('"').splitlines()[0][:200]
            print(f'{name}: left out {method}: {reason}', flush=True)
            continue
        yield f'{name} {method}', variant, model


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
    for method in args.methods or ():
        try:
            method_distillers(method)
        except ValueError as err:
            raise SystemExit(f'benchmark.py: error: --methods {err}') from None
    if args.amp and args.device == 'cpu':
        raise SystemExit('--amp measures fp16 mixed precision: use it with a GPU --device')
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
            for name, variant, model in variants(cfg, config, args.methods):
                model = model.to(args.device)
                batches = batches_for(variant, model, args)
                try:
                    rows[name] = distill_cost(model, variant.model.student, batches,
                                              args.iters, args.warmup, clock=clock,
                                              amp=args.amp)
                except FloatingPointError as err:     # the model's non-finite loss guard
                    print(f'{name}: left out: {str(err).splitlines()[0][:200]}', flush=True)
                    continue
                print(f'{name}: ' + ', '.join(f'{k}={v:.3f}' for k, v in rows[name].items()),
                      flush=True)
                if args.profile:
                    parts, operators = profile_distill_step(model, variant.model.student,
                                                            batches[0], top=args.profile)
                    rows[name].update({f'profile_{k[5:]}_s': v for k, v in parts.items()})
                    print(f'{name}, one distilled step profiled: ' + ', '.join(
                        f'{k} {v:.3f} s' for k, v in parts.items()) + '\n' + operators,
                        flush=True)
                del model, batches
    print(table(rows, args))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)


def table(rows: dict, args) -> str:
    """Markdown table: seconds and overhead, the breakdown of the distilled step, peak MiB."""
    data = (f'random {args.synthetic[0]}x{args.synthetic[1]} images, batch {args.batch_size}'
            if args.synthetic else 'the config\'s data')
    precision = ', mixed precision (--amp)' if args.amp else ''
    lines = [f'\n{args.device}, {args.clock} clock, {data}{precision}, {args.batches} distinct '
             f'batches cycled, median of {args.iters} rounds:',
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
