"""mmkd and MMRazor 1.0 side by side: MMRazor's own Faster R-CNN R101 -> R50
configs (CWD, PKD) and mmkd's distiller at the same settings, on the same weights and batches.

    bash tools/mmrazor_env.sh      # once: a scratch virtualenv with MMRazor 1.0.0 beside mmkd
    OMP_NUM_THREADS=1 work_dirs/mmrazor_venv/bin/python tools/mmrazor_side_by_side.py \\
        --methods cwd pkd --synthetic 1333 800 --batch-size 2 --iters 2 --warmup 1 --clock cpu

Per method:

- MMRazor's ``FpnTeacherDistill`` built from its config as MMRazor ships it (the mmdet 2 file
  names its CWD config still gives are moved to mmdet 3's), at its built (random) weights:
  speed does not depend on them; mmkd's ``DistillDetector`` on the same two mmdet configs
  with the distiller at MMRazor's settings (CWD: tau 1, weight 10, the five FPN levels; PKD:
  weight 6, P2-P5), the same teacher weights (through a checkpoint file, as a user loads one)
  and the same student weights.
- **Losses**: one step's losses of each on the same batch, RNG seeded alike (the RPN and RoI
  samplers draw): the student's detection losses and the summed distillation loss, and their
  largest relative difference.
- **Time**: a step (losses, backward, SGD step) of the student alone, of MMRazor and of mmkd,
  round-robin on the same batches (:func:`mmkd.apis.benchmark.measure`), median seconds.
- **Memory**: each of the three in a process of its own that holds only it, as a training run
  does: resident MiB between steps and at the peak of a step (one process for all three would
  not do: MMRazor's recorders keep the last step's maps until the next step starts, so its
  growth within a step reads low against a model that frees them).
- **Checkpoint**: what ``state_dict()`` holds, keys and MiB, and how many are the teacher's.
"""
import argparse
import copy
import io
import json
import os.path as osp
import subprocess
import sys
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401  (registers mmkd's modules)
from mmkd.apis.benchmark import (PeakMemory, fresh_teacher_checkpoint, measure,
                                 synthetic_batches, update)
from mmkd.models.teacher import load_model_config
from mmkd.registry import MODELS

# MMRazor's configs and the mmkd distiller at their settings
RAZOR_CONFIGS = {
    'cwd': 'distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py',
    'pkd': 'distill/mmdet/pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py',
}
MMKD_DISTILLERS = {
    'cwd': dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0, loss_weight=10.0),
    'pkd': dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=6.0,
                strides=[4, 8, 16, 32]),
}
TOOLKITS = ('student alone', 'MMRazor', 'mmkd')
# mmdet 2 config names MMRazor 1.0's configs still use, and their mmdet 3 names
MMDET3_NAMES = {
    'mmdet::faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py':
        'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'mmdet::faster_rcnn/faster_rcnn_r101_fpn_2x_coco.py':
        'mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--methods', nargs='+', choices=sorted(RAZOR_CONFIGS),
                        default=sorted(RAZOR_CONFIGS))
    parser.add_argument('--synthetic', nargs=2, type=int, metavar=('W', 'H'),
                        default=(1333, 800), help='image size (pixels, after resize)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--batches', type=int, default=2, help='distinct batches, cycled')
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                        help='cpu: CPU seconds of this process (a busy machine slows it less)')
    parser.add_argument('--out', help='write the rows as JSON')
    parser.add_argument('--memory-of', choices=TOOLKITS,
                        help='(internal) measure the memory of this one in this process')
    return parser.parse_args()


def razor_config(method: str) -> Config:
    """MMRazor's config for ``method``, as its package ships it, with mmdet 3 file names and no
    teacher checkpoint (the teacher's weights are set after the build)."""
    import mmrazor
    path = osp.join(osp.dirname(mmrazor.__file__), '.mim', 'configs', RAZOR_CONFIGS[method])
    cfg = Config.fromfile(path)
    for part in ('architecture', 'teacher'):
        cfg.model[part].cfg_path = MMDET3_NAMES.get(cfg.model[part].cfg_path,
                                                    cfg.model[part].cfg_path)
    cfg.model.teacher_ckpt = None
    return cfg


def razor_model(cfg: Config):
    from mmrazor.registry import MODELS as RAZOR_MODELS
    return RAZOR_MODELS.build(copy.deepcopy(cfg.model))


def mmkd_model(cfg: Config, method: str, teacher_checkpoint: str):
    """mmkd's ``DistillDetector`` on MMRazor's two mmdet configs, the teacher from
    ``teacher_checkpoint``."""
    return MODELS.build(dict(
        type='mmkd.DistillDetector',
        student=load_model_config(cfg.model.architecture.cfg_path),
        teacher=dict(config=cfg.model.teacher.cfg_path, checkpoint=teacher_checkpoint),
        distillers=[MMKD_DISTILLERS[method]]))


def student_model(cfg: Config):
    return MODELS.build(load_model_config(cfg.model.architecture.cfg_path))


def build_pair(method: str, directory: str):
    """MMRazor's model, mmkd's and the student alone on the same teacher and student
    weights."""
    cfg = razor_config(method)
    razor = razor_model(cfg)
    checkpoint = osp.join(directory, f'{method}_teacher.pth')
    torch.save(dict(state_dict=razor.teacher.state_dict()), checkpoint)
    ours, student = mmkd_model(cfg, method, checkpoint), student_model(cfg)
    for model in (ours.student, student):
        model.load_state_dict(razor.architecture.state_dict())
    for model in (razor, ours, student):
        model.train()      # MMRazor's train() does not return the model
    return razor, ours, student


def build_one(toolkit: str, method: str, directory: str):
    """One of the three alone (``toolkit``: ``'student alone'``, ``'MMRazor'`` or ``'mmkd'``),
    at random weights (memory does not depend on them)."""
    cfg = razor_config(method)
    if toolkit == 'MMRazor':
        model = razor_model(cfg)
    elif toolkit == 'mmkd':
        model = mmkd_model(cfg, method,
                           fresh_teacher_checkpoint(cfg.model.teacher.cfg_path, directory))
    else:
        model = student_model(cfg)
    model.train()
    return model


def memory_of(toolkit: str, method: str, args) -> dict:
    """In a process of its own that holds only that model: the resident memory (MiB) after
    the build, before a step (after ``args.warmup`` steps: what a training run holds between
    steps) and at the peak of the next step (Linux's high-water mark)."""
    with tempfile.TemporaryDirectory() as tmp:
        model = build_one(toolkit, method, tmp)
    batches = synthetic_batches(model, args.batches, args.batch_size, tuple(args.synthetic),
                                num_classes=80)
    run = step(model, torch.optim.SGD(trainable(model), 1e-4))
    built = PeakMemory._status('VmRSS')
    for index in range(args.warmup):
        run(*batches[index % len(batches)])
    with PeakMemory(torch.device('cpu')) as memory:
        run(*batches[args.warmup % len(batches)])
    return dict(built_mib=built / 2**20, between_steps_mib=memory.start / 2**20,
                peak_mib=(memory.start + memory.peak) / 2**20)


def memory_in_own_process(toolkit: str, method: str, args) -> dict:
    """:func:`memory_of` run in a child process."""
    command = [sys.executable, __file__, '--memory-of', toolkit, '--methods', method,
               '--synthetic', *map(str, args.synthetic), '--batch-size', str(args.batch_size),
               '--batches', str(args.batches), '--warmup', str(args.warmup)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def split_losses(losses: dict, student_prefix: str, distill_prefix: str) -> dict:
    """The detection losses by their mmdet name, and ``'distill'``: the distillation losses'
    sum, each a float."""
    def value(v):
        parts = v if isinstance(v, (list, tuple)) else [v]
        return sum(float(part.detach()) for part in parts)
    split = {'distill': 0.0}
    for name, v in losses.items():
        if name.startswith(distill_prefix):
            split['distill'] += value(v)
        elif name.startswith(student_prefix + 'loss'):
            split[name[len(student_prefix):]] = value(v)
    return split


def compare_losses(razor, ours, batch, seed: int = 0) -> dict:
    """One step's losses of each on ``batch``, RNG seeded alike before each."""
    inputs, samples = batch
    torch.manual_seed(seed)
    theirs = split_losses(razor.loss(inputs, samples), 'student.', 'distill.loss')
    torch.manual_seed(seed)
    mine = split_losses(ours.loss(inputs, samples), '', ours.distillers[0].loss_name)
    shared = set(theirs) & set(mine)
    difference = max(abs(theirs[n] - mine[n]) / max(abs(theirs[n]), 1e-12) for n in shared)
    return dict(mmrazor=theirs, mmkd=mine, max_relative_difference=difference,
                names_only_in_one=sorted(set(theirs) ^ set(mine)))


def step(model, optimizer):
    """A training step of ``model``: its losses, backward, SGD step."""
    def run(inputs, samples):
        loss, _ = model.parse_losses(model.loss(inputs, samples))
        update(loss, optimizer)
    return run


def checkpoint_contents(model) -> dict:
    state = model.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return dict(keys=len(state), teacher_keys=sum(k.startswith('teacher.') for k in state),
                mib=buffer.tell() / 2**20)


def trainable(model):
    return [p for p in model.parameters() if p.requires_grad]


def main():
    args = parse_args()
    init_default_scope('mmdet')
    if args.memory_of:
        print(json.dumps(memory_of(args.memory_of, args.methods[0], args)))
        return
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for method in args.methods:
            razor, ours, student = build_pair(method, tmp)
            batches = synthetic_batches(ours, args.batches, args.batch_size,
                                        tuple(args.synthetic), num_classes=80)
            row = dict(losses=compare_losses(razor, ours, batches[0]))
            print(f'{method}: losses {json.dumps(row["losses"])}', flush=True)
            models = dict(zip(TOOLKITS, (student, razor, ours)))
            phases = {name: step(model, torch.optim.SGD(trainable(model), 1e-4))
                      for name, model in models.items()}
            costs = measure(phases, batches, args.iters, args.warmup, torch.device('cpu'), clock)
            row['seconds'] = {name: cost.seconds for name, cost in costs.items()}
            row['checkpoint'] = {'MMRazor': checkpoint_contents(razor),
                                 'mmkd': checkpoint_contents(ours)}
            del razor, ours, student, models, phases, batches
            row['memory'] = {name: memory_in_own_process(name, method, args)
                             for name in TOOLKITS}
            print(f'{method}: ' + json.dumps({key: row[key] for key in
                                               ('seconds', 'checkpoint', 'memory')}), flush=True)
            rows[method] = row
    print(table(rows, args))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)


def table(rows: dict, args) -> str:
    w, h = args.synthetic
    lines = [f'\ncpu, {args.clock} clock, random {w}x{h} images, batch {args.batch_size}; '
             f'step seconds: median of {args.iters} rounds in one process; memory: each in a '
             f'process of its own, the step after {args.warmup}:',
             '| method | toolkit | step s | x student alone | MiB between steps | peak MiB | '
             'peak x student alone | checkpoint keys (teacher) | checkpoint MiB | '
             'distill loss | largest relative loss difference |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for method, row in rows.items():
        seconds, memory = row['seconds'], row['memory']
        alone_s, alone_mib = seconds['student alone'], memory['student alone']['peak_mib']
        for toolkit in TOOLKITS:
            cells = [method, toolkit, f'{seconds[toolkit]:.2f}',
                     f'{seconds[toolkit] / alone_s:.3f}',
                     f"{memory[toolkit]['between_steps_mib']:.0f}",
                     f"{memory[toolkit]['peak_mib']:.0f}",
                     f"{memory[toolkit]['peak_mib'] / alone_mib:.2f}"]
            if toolkit == 'student alone':
                cells += [''] * 4
            else:
                ckpt = row['checkpoint'][toolkit]
                cells += [f"{ckpt['keys']} ({ckpt['teacher_keys']})", f"{ckpt['mib']:.0f}",
                          f"{row['losses'][toolkit.lower()]['distill']:.6g}",
                          f"{row['losses']['max_relative_difference']:.1e}"]
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
