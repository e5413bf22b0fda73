"""A trial's config and its run: ``tools/train.py`` in a process of its own, watched per epoch."""
import os
import os.path as osp
import signal
import subprocess
import sys
from typing import List, Sequence, Tuple

from ..report import validation_history
from .space import Recipe
from ...utils.config import resolve_config_path
from ...utils.package_files import package_file
from .spec import SearchSpec, load_config



def recipe_config(spec: SearchSpec, recipe: Recipe) -> str:
    """The text of the recipe's distillation config: the student's config with its model put
    inside a :class:`~mmkd.models.DistillDetector` (the student alone: the student's config)."""
    student = _absolute(spec.student_config)
    if recipe.is_student:
        return f"# The student alone (mmkd search, trial 0)\n_base_ = [{student!r}]\n"
    lines = [f'# {recipe.label}: distillers found by tools/search_recipe.py, each weight a '
             'ratio to the student\'s detection loss',
             '# (loss_weight=dict(ratio=r, over_iters=n): fixed from the first n iterations)',
             f'_base_ = [{student!r}]',
             "custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)",
             'model = dict(',
             '    _delete_=True,',
             "    type='mmkd.DistillDetector',",
             '    student={{_base_.model}},',
             f'    teacher=dict(config={_absolute(spec.teacher_config)!r},',
             f'                 checkpoint={_absolute(spec.teacher_checkpoint)!r}),',
             '    distillers=[']
    lines += [f'        {_literal(cfg)},' for cfg in recipe.distillers(spec.over_iters)]
    lines += ['    ])', '']
    return '\n'.join(lines)


def _absolute(path: str) -> str:
    path = resolve_config_path(path)
    return path if '::' in path else osp.abspath(path)


def _literal(cfg: dict) -> str:
    items = ', '.join(f'{key}={_literal(value) if isinstance(value, dict) else repr(value)}'
                      for key, value in cfg.items())
    return f'dict({items})'


def shortened_schedule(config_file: str, epochs: int) -> List[str]:
    """``--cfg-options`` that train ``config_file`` for ``epochs`` epochs with a validation
    after each: every epoch-based scheduler's ``end`` and ``milestones`` scaled by ``epochs`` /
    the config's ``max_epochs``, as a shorter run of the same schedule."""
    cfg = load_config(config_file)
    full = cfg.train_cfg.get('max_epochs')
    if cfg.train_cfg.get('type', 'EpochBasedTrainLoop') != 'EpochBasedTrainLoop' or not full:
        raise ValueError(f'{config_file}: the search needs an epoch-based train_cfg '
                         f'(train_cfg.max_epochs), got {dict(cfg.train_cfg)}')
    options = [f'train_cfg.max_epochs={epochs}', 'train_cfg.val_interval=1']
    schedulers = cfg.get('param_scheduler') or []
    indexed = ([('param_scheduler', schedulers)] if isinstance(schedulers, dict) else
               [(f'param_scheduler.{i}', s) for i, s in enumerate(schedulers)])
    for key, scheduler in indexed:
        if not scheduler.get('by_epoch', True):
            continue
        if 'end' in scheduler:
            options.append(f'{key}.end={max(1, round(scheduler["end"] * epochs / full))}')
        if 'milestones' in scheduler:
            scaled = [max(1, round(m * epochs / full)) for m in scheduler['milestones']]
            options.append(f'{key}.milestones={scaled}'.replace(' ', ''))
    return options


def _die_with_parent():
    """In the trial's process before it starts: be sent SIGTERM when the search process dies
    (Linux), so that a killed search leaves no training behind."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class TrialRun:
    """One ``tools/train.py`` run of a trial's config in its own process, watched for the
    per-epoch validation metric (mmengine's ``scalars.json``)."""

    def __init__(self, config: str, work_dir: str, options: Sequence[str]):
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.log = osp.join(work_dir, 'train.out')
        cmd = [sys.executable, package_file('tools', 'train.py'), config, '--work-dir', work_dir,
               '--cfg-options', *options]
        with open(self.log, 'w') as out:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                            preexec_fn=_die_with_parent)

    def history(self, metric: str) -> List[Tuple[int, float]]:
        return validation_history(self.work_dir, metric)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()

    def failure(self) -> str:
        with open(self.log) as f:
            tail = f.read()[-2000:]
        return f'tools/train.py exited {self.process.returncode}; log {self.log}:\n{tail}'
