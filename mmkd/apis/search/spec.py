"""What a recipe search trains, and how much."""
from dataclasses import dataclass
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.hub import get_config

from ...utils.config import resolve_config_path


@dataclass
class SearchSpec:
    """What a search trains and how much.

    Attributes:
        student_config: the student's config file (model, data, schedule).
        teacher_config: the teacher's config (file or ``mmdet::`` path).
        teacher_checkpoint: its trained weights.
        work_dir: trials, the study's SQLite file, the report and ``best_recipe.py``.
        trial_epochs: epochs of each trial (the schedule's steps scaled to it).
        budget: trainings of ``trial_epochs`` in all (a pruned trial counts the epochs it ran),
            the student alone and the confirming runs included.
        confirm: recipes re-run with the further ``seeds`` before a winner is named.
        seeds: ``seeds[0]`` for the search, the rest for confirming.
        terms: names of :data:`TERMS` to consider (default: all that build on the pair).
        over_iters: iterations a relative weight is averaged over.
        metric: the validation metric maximised.
        cfg_options: ``--cfg-options`` of every trial (``key=value`` strings).
        storage: an Optuna storage URL (default: SQLite in ``work_dir``).
        study_name: default: the work dir's name.
        heartbeat: seconds between a trial's heartbeats; one missing for twice that is a dead
            trial, failed and retried.
        pruner: ``'hyperband'``, ``'halving'`` or ``'none'``.
        sampler_seed: for the TPE sampler (give it for one process only).
        start_with: recipes trained first, after the student alone, as labels
            (``'pkd x26 + rpn_roi_kd x2.7'``): a recipe already trusted, so that the search
            compares with it on the same terms.
    """
    student_config: str
    teacher_config: str
    teacher_checkpoint: str
    work_dir: str
    trial_epochs: int = 4
    budget: int = 12
    confirm: int = 2
    seeds: Sequence[int] = (0, 1)
    terms: Optional[Sequence[str]] = None
    over_iters: int = 50
    metric: str = 'coco/bbox_mAP'
    cfg_options: Sequence[str] = ()
    storage: Optional[str] = None
    study_name: Optional[str] = None
    heartbeat: int = 60
    pruner: str = 'hyperband'
    sampler_seed: Optional[int] = None
    start_with: Sequence[str] = ()

    @property
    def reserve(self) -> int:
        """Trainings kept for confirming (the student and ``confirm`` recipes per extra seed)."""
        return (self.confirm + 1) * (len(self.seeds) - 1)


def load_config(path: str) -> Config:
    """A config file, an ``mmkd::`` path or an ``mmdet::`` path (through mmengine's config
    hub)."""
    path = resolve_config_path(path)
    return get_config(path) if '::' in path else Config.fromfile(path)
