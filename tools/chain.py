"""Distillation chains: each stage's student teaches the next stage.

    python tools/chain.py CONFIG [CONFIG ...] [--work-dir DIR] [--cfg-options k=v ...]

Each CONFIG is a distillation config (``model: mmkd.DistillDetector``). The first stage trains
with the teacher its config names; every later stage's ``model.teacher`` becomes the student
the stage before trained, exported as a plain mmdet model (``tools/export_student.py``) from
its last checkpoint. Two uses:

* a teacher-assistant chain (Mirzadeh et al., AAAI 2020): teacher -> assistant -> student, the
  assistant of a width between the two (e.g. ``configs/ta_chain`` ``*_stage1.py``, ``*_stage2.py``);
* born-again generations (Furlanello et al., ICML 2018): the same config of a student of the
  teacher's architecture given N times; generation k learns from generation k-1.

``--cfg-options`` apply to every stage (a schedule, say; ``model.teacher.checkpoint`` then
reaches the first stage only). Stage ``k`` runs in ``DIR/stage{k}_<config name>``; its exported
student in ``.../student/``; ``DIR/chain.md`` holds one row per stage with its COCO box mAP.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from mmkd.apis import export_student
from mmkd.apis.chain import chain_stage_dirs
from mmkd.apis.report import final_metrics
from mmkd.utils import config_argument

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def last_checkpoint(stage_dir: str) -> str:
    """The checkpoint mmengine's ``last_checkpoint`` file in ``stage_dir`` names."""
    with open(osp.join(stage_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def run_stage(config: str, stage_dir: str, options: list) -> None:
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', stage_dir]
    if options:
        cmd += ['--cfg-options', *options]
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f'{stage_dir}: tools/train.py {config} failed (exit '
                         f'{result.returncode})')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', type=config_argument, help='one distillation config per stage, in order')
    parser.add_argument('--work-dir', default='work_dirs/chain')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value settings given to every stage, as tools/train.py takes')
    args = parser.parse_args()
    for config in args.configs:
        model = Config.fromfile(config).model
        if model.get('type') not in ('mmkd.DistillDetector', 'DistillDetector') \
                or model.get('teacher') is None:
            raise SystemExit(f'{config}: each stage must be a distillation config with one '
                             f'model.teacher (a chain passes each student on as that teacher)')
    rows, teacher = [], None
    stage_dirs = chain_stage_dirs(args.work_dir, args.configs)
    for index, (config, stage_dir) in enumerate(zip(args.configs, stage_dirs), start=1):
        options = list(args.cfg_options)
        if teacher is not None:
            options += [f'model.teacher.config={teacher[0]}',
                        f'model.teacher.checkpoint={teacher[1]}']
        print(f'=== chain stage {index}: {config}, teacher '
              f'{teacher[1] if teacher else "from the config"} ===', flush=True)
        run_stage(config, stage_dir, options)
        # the config tools/train.py wrote into the stage dir has the options applied
        teacher = export_student(osp.join(stage_dir, osp.basename(config)),
                                 last_checkpoint(stage_dir), osp.join(stage_dir, 'student'))
        box_map = final_metrics(stage_dir).get('coco/bbox_mAP')
        rows.append(f'| {index} | `{config}` | {box_map} | `{teacher[1]}` |')
    os.makedirs(args.work_dir, exist_ok=True)
    table = osp.join(args.work_dir, 'chain.md')
    text = ('| stage | config | box mAP | its student (the next stage\'s teacher) |\n'
            '|---|---|---|---|\n' + '\n'.join(rows) + '\n')
    with open(table, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
