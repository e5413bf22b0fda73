"""A budgeted search, on Optuna, for the distillation recipe that helps on the user's own data.

The search space comes from the pair: each term of :data:`TERMS` (a feature method on the
necks, or an output term on the heads) that builds on the two models, its weight a ratio to the
student's detection loss (``loss_weight=dict(ratio=r)``), so that one range fits every method
and every data set. A trial is a recipe (a feature term or none, an output term or none, their
ratios), written as a normal distillation config (``trial_<n>/recipe.py``) and trained by
``tools/train.py`` for ``trial_epochs`` on the student's schedule shortened to that length,
scored by the student's validation metric; the student alone on the same schedule is trial 0.
Per-epoch scores feed Optuna's pruner, which stops poor trials early.

When the search's share of the budget is spent, the best recipes and the student alone are
trained again with further seeds, and a recipe is named the winner only if each of its seeds
beats each of the student's (outside the seed spread); otherwise the search says that nothing
helped. The study lives in Optuna's storage (an SQLite file in the work dir by default): the
same command resumes a killed search (finished trials are kept; a trial whose process died is
failed by its missing heartbeat and retried), and several processes given one ``--storage``
share the trials.
"""
import json
import logging
import math
import os
import os.path as osp
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MMLogger

from .report import validation_history

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN_TOOL = osp.join(ROOT, 'tools', 'train.py')
NONE = 'none'
_CHEN_KD = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)


@dataclass(frozen=True)
class Term:
    """A part of a recipe: one or more distillers whose losses share one ratio to the detection
    loss (each distiller of the term gets an equal part of it).

    Attributes:
        name: as the search and its table call it.
        kind: ``'feature'`` or ``'output'``: a recipe has at most one of each.
        distillers: their configs, without ``loss_weight``.
        ratios: the range of the ratio searched, on a log scale.
    """
    name: str
    kind: str
    distillers: Tuple[dict, ...]
    ratios: Tuple[float, float] = (0.1, 10.0)


# Feature terms reach further: the BCCD default's PKD term is 39x the detection loss.
FEATURE_RATIOS = (0.1, 40.0)


TERMS = (
    Term('pkd', 'feature', (dict(type='mmkd.PKD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('cwd', 'feature', (dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0), ),
         FEATURE_RATIOS),
    Term('mgd', 'feature', (dict(type='mmkd.MGD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('fgd', 'feature', (dict(type='mmkd.FGD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('reviewkd', 'feature', (dict(type='mmkd.ReviewKD', student='neck', teacher='neck'), ),
         FEATURE_RATIOS),
    Term('rpn_roi_kd', 'output', (dict(type='mmkd.RPNKD', **_CHEN_KD),
                                  dict(type='mmkd.RoIHeadKD', **_CHEN_KD))),
    Term('roi_crosskd', 'output', (dict(type='mmkd.RoICrossKD'), )),
    Term('ld', 'output', (dict(type='mmkd.LD', temperature=10.0), )),
    Term('crosskd', 'output', (dict(type='mmkd.CrossKD', reused_index=1), )),
    Term('logit_kd', 'output', (dict(type='mmkd.DenseLogitKD', temperature=2.0), )),
)


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

    @property
    def reserve(self) -> int:
        """Trainings kept for confirming: the student and ``confirm`` recipes per extra seed."""
        return (self.confirm + 1) * (len(self.seeds) - 1)


# --------------------------------------------------------------------------- the search space

def applicable_terms(spec: SearchSpec, names: Optional[Sequence[str]] = None):
    """The terms of :data:`TERMS` (or those ``names``) that build on the pair, and for each left
    out the reason (its distillers' own build checks: shared strides, same anchors and classes,
    a head of the right kind)."""
    from mmkd.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    known = {term.name: term for term in TERMS}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise ValueError(f'--terms {unknown}: unknown; choose from {sorted(known)}')
    student = load_config(spec.student_config).model
    teacher = dict(config=spec.teacher_config, checkpoint=spec.teacher_checkpoint)
    usable, skipped = [], {}
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)         # ten builds' pairing lines say nothing new
    try:
        for term in (known[name] for name in names) if names else TERMS:
            try:
                MODELS.build(dict(type='mmkd.DistillDetector', student=student, teacher=teacher,
                                  distillers=[dict(cfg, loss_weight=1.0)
                                              for cfg in term.distillers]))
            except Exception as err:  # noqa: BLE001 (any build error: "does not apply")
                message = str(err).strip('"').splitlines()[0]
                skipped[term.name] = message if len(message) < 200 else message[:197] + '...'
            else:
                usable.append(term)
    finally:
        logger.setLevel(level)
    return usable, skipped


@dataclass(frozen=True)
class Recipe:
    """A feature term and an output term (either may be ``'none'``), with their ratios."""
    feature: str = NONE
    feature_ratio: float = 0.0
    output: str = NONE
    output_ratio: float = 0.0

    @classmethod
    def from_params(cls, params: dict) -> 'Recipe':
        """From a trial's parameters (``feature``, ``feature_ratio``, ``output``,
        ``output_ratio``); a ratio is ignored where its term is ``'none'``."""
        feature, output = params.get('feature', NONE), params.get('output', NONE)
        return cls(feature, _round(params['feature_ratio']) if feature != NONE else 0.0,
                   output, _round(params['output_ratio']) if output != NONE else 0.0)

    @property
    def params(self) -> dict:
        return dict(feature=self.feature, feature_ratio=self.feature_ratio or 1.0,
                    output=self.output, output_ratio=self.output_ratio or 1.0)

    @property
    def is_student(self) -> bool:
        return self.feature == NONE and self.output == NONE

    @property
    def label(self) -> str:
        if self.is_student:
            return 'student alone'
        parts = [f'{name} x{ratio:g}' for name, ratio in
                 ((self.feature, self.feature_ratio), (self.output, self.output_ratio))
                 if name != NONE]
        return ' + '.join(parts)

    def distillers(self, over_iters: int) -> List[dict]:
        terms = {term.name: term for term in TERMS}
        configs = []
        for name, ratio in ((self.feature, self.feature_ratio), (self.output, self.output_ratio)):
            if name == NONE:
                continue
            term = terms[name]
            share = _round(ratio / len(term.distillers))
            configs += [dict(cfg, loss_weight=dict(ratio=share, over_iters=over_iters))
                        for cfg in term.distillers]
        return configs


def _round(value: float) -> float:
    """Three significant digits: the ratio a trial trains is the one its config shows."""
    return float(f'{value:.3g}')


def suggest_recipe(trial, terms: Sequence[Term]) -> Recipe:
    """The trial's recipe from Optuna's sampler (or its fixed parameters). Both ratios are
    always drawn, used or not, so that every trial has every parameter (the importance plot
    needs that)."""
    params = {}
    for kind in ('feature', 'output'):
        of_kind = [term for term in terms if term.kind == kind]
        low = min([term.ratios[0] for term in of_kind] or [FEATURE_RATIOS[0]])
        high = max([term.ratios[1] for term in of_kind] or [FEATURE_RATIOS[1]])
        params[kind] = trial.suggest_categorical(kind, [NONE] + [t.name for t in of_kind])
        params[f'{kind}_ratio'] = trial.suggest_float(f'{kind}_ratio', low, high, log=True)
    return Recipe.from_params(params)


STUDENT_PARAMS = dict(feature=NONE, feature_ratio=1.0, output=NONE, output_ratio=1.0)


def recipe_of(trial) -> Recipe:
    """The recipe a trial ran (kept in its ``params`` attribute: a confirming run has no
    sampled parameters)."""
    return Recipe.from_params(trial.user_attrs['params'])


# --------------------------------------------------------------------------- configs and runs

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


def load_config(path: str) -> Config:
    """A config file, or an ``mmdet::`` path (through mmengine's config hub)."""
    return get_config(path) if '::' in path else Config.fromfile(path)


def _absolute(path: str) -> str:
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
        cmd = [sys.executable, TRAIN_TOOL, config, '--work-dir', work_dir,
               '--cfg-options', *options]
        with open(self.log, 'w') as out:
            self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
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


# --------------------------------------------------------------------------- the study

def open_study(spec: SearchSpec):
    """The study in ``spec.storage`` (created or resumed), with the heartbeat that fails and
    retries the trials of dead processes."""
    import optuna
    import sqlalchemy
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
    os.makedirs(spec.work_dir, exist_ok=True)
    url = spec.storage or f"sqlite:///{osp.abspath(osp.join(spec.work_dir, 'study.db'))}"
    engine = dict(connect_args=dict(timeout=120)) if url.startswith('sqlite') else {}
    for attempt in range(5):
        try:
            storage = RDBStorage(url, engine_kwargs=engine, heartbeat_interval=spec.heartbeat,
                                 grace_period=2 * spec.heartbeat,
                                 heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                                     max_retry=2))
            break
        except sqlalchemy.exc.SQLAlchemyError:
            # processes started at once on a new database race to create its tables
            if attempt == 4:
                raise
            time.sleep(1 + attempt)
    pruners = dict(hyperband=optuna.pruners.HyperbandPruner(min_resource=1,
                                                            max_resource=spec.trial_epochs),
                   halving=optuna.pruners.SuccessiveHalvingPruner(min_resource=1),
                   none=optuna.pruners.NopPruner())
    if spec.pruner not in pruners:
        raise ValueError(f'--pruner {spec.pruner!r}: choose from {sorted(pruners)}')
    name = spec.study_name or osp.basename(osp.abspath(spec.work_dir))
    settings = dict(storage=storage, study_name=name, pruner=pruners[spec.pruner],
                    sampler=optuna.samplers.TPESampler(seed=spec.sampler_seed))
    try:
        study = optuna.create_study(direction='maximize', **settings)
    except optuna.exceptions.DuplicatedStudyError:      # resumed, or joined
        return optuna.load_study(**settings)
    # only the process that created the study: trial 0 is the student alone
    study.enqueue_trial(STUDENT_PARAMS, user_attrs=dict(seed=spec.seeds[0], enqueued=True))
    return study


def _epochs_spent(study, trial_epochs: int, exclude: int) -> float:
    """Epochs trained by the study's trials but ``exclude`` (running ones counted whole)."""
    from optuna.trial import TrialState
    spent = 0.0
    for trial in study.get_trials(deepcopy=False):
        if trial.number == exclude or trial.user_attrs.get('idle'):
            continue
        if trial.state == TrialState.RUNNING:
            spent += trial_epochs
        elif trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
            spent += trial.user_attrs.get('epochs', 0)
    return spent


def _finished(study) -> List:
    from optuna.trial import TrialState
    return [t for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.COMPLETE and 'params' in t.user_attrs]


def _confirmations(study, spec: SearchSpec) -> List[Tuple[dict, int, int]]:
    """The confirming runs due, ``(params, seed, trial number confirmed)``: for each further
    seed, the student alone and the ``confirm`` best recipes of the search (seed 0)."""
    searched = [t for t in _finished(study) if t.user_attrs.get('confirms') is None
                and t.user_attrs.get('seed') == spec.seeds[0]]
    students = [t for t in searched if recipe_of(t).is_student]
    best, seen = [], set()
    for t in sorted(searched, key=lambda t: -t.value):
        key = recipe_of(t)
        if key.is_student or key in seen:
            continue
        seen.add(key)
        best.append(t)
    chosen = students[:1] + best[:spec.confirm]
    return [(t.user_attrs['params'], seed, t.number) for seed in spec.seeds[1:] for t in chosen]


def _claim(study, trial, jobs) -> Optional[Tuple[dict, int, int]]:
    """The first job that no earlier trial holds: a trial claims a job by its ``job`` attribute,
    and the trial of the smallest number holding a job keeps it (processes sharing the study
    agree on that without a lock)."""
    from optuna.trial import TrialState
    for params, seed, confirms in jobs:
        key = json.dumps([sorted(params.items()), seed])
        trial.set_user_attr('job', key)
        holders = [t.number for t in study.get_trials(deepcopy=False)
                   if t.user_attrs.get('job') == key and t.state != TrialState.FAIL
                   and not t.user_attrs.get('idle')]
        if min(holders + [trial.number]) == trial.number:
            return params, seed, confirms
    trial.set_user_attr('job', None)
    return None


class Objective:
    """One trial: which run it is (search, confirmation or nothing left), then that run."""

    def __init__(self, spec: SearchSpec, terms: Sequence[Term]):
        self.spec = spec
        self.terms = terms
        self.schedule = shortened_schedule(spec.student_config, spec.trial_epochs)

    def __call__(self, trial) -> float:
        import optuna
        from optuna.trial import TrialState
        spec = self.spec
        attrs = trial.user_attrs
        seed, confirms = attrs.get('seed', spec.seeds[0]), attrs.get('confirms')
        spent = _epochs_spent(trial.study, spec.trial_epochs, trial.number)
        search_left = spent + spec.trial_epochs <= (spec.budget - spec.reserve) * spec.trial_epochs
        if confirms is not None and 'params' in attrs:      # a confirming run, retried
            recipe = Recipe.from_params(attrs['params'])
        elif trial.params or attrs.get('enqueued') or search_left:
            recipe = suggest_recipe(trial, self.terms)      # enqueued, retried or sampled
        else:
            job = _claim(trial.study, trial, _confirmations(trial.study, spec))
            if job is None or spent + spec.trial_epochs > spec.budget * spec.trial_epochs:
                trial.set_user_attr('idle', 'budget spent' if job else 'nothing left to run')
                trial.study.stop()
                raise optuna.TrialPruned('nothing left to run')
            params, seed, confirms = job
            recipe = Recipe.from_params(params)
        trial.set_user_attr('params', recipe.params)
        trial.set_user_attr('process', f'{socket.gethostname()}:{os.getpid()}')
        trial.set_user_attr('seed', seed)
        trial.set_user_attr('confirms', confirms)
        trial.set_user_attr('recipe', recipe.label)
        same = self._same_run(trial.study, recipe, seed, trial.number)
        if same is not None:        # a recipe trained (or training) with this seed: not again
            trial.set_user_attr('same_as', same.number)
            trial.set_user_attr('epochs', 0)
            if same.state == TrialState.COMPLETE:
                return same.value
            raise optuna.TrialPruned(f'the same run as trial {same.number}, still training')
        # the baseline and the confirming runs are measurements: never pruned
        return self._train(trial, recipe, seed,
                           prunable=confirms is None and not recipe.is_student)

    @staticmethod
    def _same_run(study, recipe: Recipe, seed: int, number: int):
        """An earlier trial, finished or running, of ``recipe`` with ``seed``."""
        from optuna.trial import TrialState
        for other in study.get_trials(deepcopy=False):
            if (other.number < number and 'params' in other.user_attrs
                    and other.state in (TrialState.COMPLETE, TrialState.RUNNING)
                    and other.user_attrs.get('seed') == seed
                    and 'same_as' not in other.user_attrs and recipe_of(other) == recipe):
                return other
        return None

    def _train(self, trial, recipe: Recipe, seed: int, prunable: bool) -> float:
        import optuna
        spec = self.spec
        run_dir = osp.join(spec.work_dir, f'trial_{trial.number}')
        os.makedirs(run_dir, exist_ok=True)
        config = osp.join(run_dir, 'recipe.py')
        with open(config, 'w') as f:
            f.write(recipe_config(spec, recipe))
        print(f'[search] trial {trial.number}: {recipe.label}, seed {seed} ({run_dir})',
              flush=True)
        start = time.time()
        run = TrialRun(config, run_dir, [*self.schedule, f'randomness.seed={seed}',
                                         *spec.cfg_options])
        reported = 0
        try:
            while True:
                finished = run.process.poll() is not None
                for epoch, value in run.history(spec.metric)[reported:]:
                    reported += 1
                    trial.report(value, epoch)
                    print(f'[search] trial {trial.number}: epoch {epoch}, {spec.metric} '
                          f'{value:.4f}', flush=True)
                    if prunable and trial.should_prune():
                        run.stop()
                        raise optuna.TrialPruned(f'pruned after epoch {epoch}')
                if finished:
                    break
                time.sleep(1.0)
        finally:
            run.stop()
            trial.set_user_attr('epochs', reported)
            trial.set_user_attr('minutes', round((time.time() - start) / 60, 2))
        if run.process.returncode != 0 or not reported:
            trial.set_user_attr('epochs', spec.trial_epochs)   # spent: a failing config ends
            raise RuntimeError(run.failure())
        return run.history(spec.metric)[-1][1]


def run_search(spec: SearchSpec, log=print):
    """Run (or resume, or join) the search; returns the study. Stops when the budget is spent
    and no confirming run is left."""
    import optuna
    terms, skipped = applicable_terms(spec, spec.terms)
    for name, reason in skipped.items():
        log(f'[search] left out {name}: {reason}')
    if not terms:
        raise ValueError('no distillation term builds on this pair: ' + json.dumps(skipped))
    if spec.budget < spec.reserve + 2:
        raise ValueError(f'--budget {spec.budget}: the student alone, one searched recipe and '
                         f'{spec.reserve} confirming runs ({spec.confirm} recipes and the '
                         f'student, {len(spec.seeds) - 1} more seeds) need at least '
                         f'{spec.reserve + 2} trainings')
    log(f'[search] terms: {", ".join(term.name for term in terms)}; budget {spec.budget} '
        f'trainings of {spec.trial_epochs} epochs ({spec.reserve} for confirming)')
    study = open_study(spec)
    study.set_user_attr('left_out', skipped)         # for the report, --report-only's too
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(Objective(spec, terms), catch=(RuntimeError, ))
    return study


# --------------------------------------------------------------------------- the outcome

@dataclass
class Outcome:
    """What the search found: per recipe its scores by seed, the student's, the verdict."""
    rows: List[dict]
    recipes: List[dict]
    student: List[float]
    winner: Optional[dict]
    verdict: str


def summarise(study, spec: SearchSpec) -> Outcome:
    """Every trial as a row, each recipe's scores by seed, and the winner: the recipe of the
    best mean among those run with every seed whose every seed beats every seed of the student
    alone; none if no recipe does."""
    from optuna.trial import TrialState
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get('idle') or 'params' not in t.user_attrs:
            continue
        rows.append(dict(trial=t.number, recipe=t.user_attrs['recipe'],
                         seed=t.user_attrs.get('seed'), state=t.state.name.lower(),
                         value=t.value if t.state == TrialState.COMPLETE else None,
                         epochs=t.user_attrs.get('epochs', 0),
                         minutes=t.user_attrs.get('minutes'),
                         same_as=t.user_attrs.get('same_as'),
                         params=t.user_attrs.get('params', {})))
    by_recipe: Dict[Recipe, Dict[int, float]] = {}
    for row in rows:
        if row['value'] is not None:
            by_recipe.setdefault(Recipe.from_params(row['params']), {})[row['seed']] = \
                row['value']
    student = list(by_recipe.get(Recipe(), {}).values())
    recipes = []
    for recipe, scores in by_recipe.items():
        if recipe.is_student:
            continue
        values = [scores[s] for s in spec.seeds if s in scores]
        recipes.append(dict(recipe=recipe, label=recipe.label, seeds=sorted(scores),
                            values=values, mean=statistics.fmean(scores.values()),
                            confirmed=len(values) == len(spec.seeds),
                            beats_student=bool(student) and len(values) == len(spec.seeds)
                            and min(values) > max(student)))
    recipes.sort(key=lambda r: (not r['confirmed'], -r['mean']))
    winners = [r for r in recipes if r['beats_student']]
    winner = winners[0] if winners else None
    if not student:
        verdict = 'the student alone has no finished run yet: nothing to compare with'
    elif winner:
        verdict = (f"{winner['label']} beats the student alone on every seed "
                   f"({_scores(winner['values'])} against {_scores(student)})")
    elif any(r['confirmed'] for r in recipes):
        verdict = ('no recipe beat the student alone outside the seed spread (each seed of a '
                   f'recipe above each of the student\'s {_scores(student)}): distillation '
                   'did not help here at this budget')
    else:
        verdict = 'no recipe has been run with every seed yet'
    return Outcome(rows, recipes, student, winner, verdict)


def _scores(values: Sequence[float]) -> str:
    return ', '.join(f'{v:.3f}' for v in values)


def write_report(study, spec: SearchSpec) -> Outcome:
    """``search.md`` (the verdict, the recipes by seed, every trial), ``search.json``, Optuna's
    optimisation-history and parameter-importance plots (PNG), and ``best_recipe.py``: the
    winner's config for its full schedule (removed when there is none)."""
    outcome = summarise(study, spec)
    student_mean = statistics.fmean(outcome.student) if outcome.student else math.nan
    lines = ['# Recipe search', '',
             f'Student `{spec.student_config}`, teacher `{spec.teacher_config}` '
             f'(`{spec.teacher_checkpoint}`); {spec.trial_epochs} epochs a trial, budget '
             f'{spec.budget} trainings, seeds {list(spec.seeds)}, metric `{spec.metric}` on '
             'the validation split.', '', f'**{outcome.verdict}.**', '']
    left_out = study.user_attrs.get('left_out', {})
    if left_out:
        lines += ['Left out (they do not build on this pair):', '']
        lines += [f'- {name}: {reason}' for name, reason in left_out.items()] + ['']
    lines += ['| recipe | seeds | scores | mean | delta to the student |', '|---|---|---|---|---|',
              f"| student alone | {len(outcome.student)} | {_scores(outcome.student)} | "
              f'{student_mean:.3f} | |']
    for r in outcome.recipes:
        lines.append(f"| {r['label']} | {len(r['seeds'])} | {_scores(r['values'])} | "
                     f"{r['mean']:.3f} | {r['mean'] - student_mean:+.3f} |")
    lines += ['', '| trial | recipe | seed | state | score | epochs | minutes |',
              '|---|---|---|---|---|---|---|']
    for row in outcome.rows:
        score = '' if row['value'] is None else f"{row['value']:.3f}"
        note = f" (as trial {row['same_as']})" if row['same_as'] is not None else ''
        lines.append(f"| {row['trial']} | {row['recipe']} | {row['seed']} | {row['state']} | "
                     f"{score}{note} | {row['epochs']} | {row['minutes'] or ''} |")
    with open(osp.join(spec.work_dir, 'search.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(spec.work_dir, 'search.json'), 'w') as f:
        json.dump(dict(verdict=outcome.verdict, student=outcome.student,
                       winner=outcome.winner and outcome.winner['label'],
                       recipes=[{k: v for k, v in r.items() if k != 'recipe'}
                                for r in outcome.recipes], trials=outcome.rows), f, indent=1)
    _plots(study, spec.work_dir)
    best = osp.join(spec.work_dir, 'best_recipe.py')
    if outcome.winner:
        with open(best, 'w') as f:
            f.write(f"# Found by tools/search_recipe.py: {outcome.verdict}.\n"
                    + recipe_config(spec, outcome.winner['recipe']))
    elif osp.exists(best):
        os.remove(best)
    return outcome


def _plots(study, work_dir: str) -> None:
    """Optuna's optimisation history and parameter importances, as PNGs (the importances need
    a few finished trials)."""
    import matplotlib
    import optuna
    warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots
    for name, plot in (('history', optuna_plots.plot_optimization_history),
                       ('importances', optuna_plots.plot_param_importances)):
        try:
            axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue
        axes.figure.savefig(osp.join(work_dir, f'search_{name}.png'), dpi=100,
                            bbox_inches='tight')
        plt.close(axes.figure)
