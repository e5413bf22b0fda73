"""The study in Optuna's storage and its trials: search, confirm, stop when the budget is spent."""
import json
import os
import os.path as osp
import re
import socket
import time
import warnings
from typing import List, Optional, Sequence, Tuple

from .runs import TrialRun, recipe_config, shortened_schedule
from .space import (STUDENT_PARAMS, Recipe, Term, applicable_terms, recipe_of,
                    suggest_recipe)
from .spec import SearchSpec


def open_study(spec: SearchSpec, start_with: Sequence[Recipe] = ()):
    """The study in ``spec.storage`` (created or resumed), with the heartbeat that fails and
    retries the trials of dead processes. A new study's first trials are the student alone and
    then the ``start_with`` recipes, with the search's seed."""
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
    for recipe in start_with:
        study.enqueue_trial(recipe.params, user_attrs=dict(seed=spec.seeds[0], enqueued=True,
                                                           given=True))
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
                    # a trial that has run its last epoch is finished, not pruned
                    if prunable and epoch < spec.trial_epochs and trial.should_prune():
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


def given_recipe(label: str, terms: Sequence[Term], skipped: dict) -> Recipe:
    """A ``--start-with`` recipe, its terms among those that build on the pair."""
    try:
        return Recipe.from_label(label, terms)
    except ValueError as err:
        named = set(re.findall(r'\w+', label))      # 'crosskd' is not in 'roi_crosskd x1'
        reasons = '; '.join(f'{name} left out: {reason}' for name, reason in skipped.items()
                            if name in named)
        raise ValueError(f'--start-with {err}' + (f' ({reasons})' if reasons else '')) from None


def run_search(spec: SearchSpec, log=print):
    """Run (or resume, or join) the search; returns the study. Stops when the budget is spent
    and no confirming run is left."""
    import optuna
    terms, skipped = applicable_terms(spec, spec.terms)
    for name, reason in skipped.items():
        log(f'[search] left out {name}: {reason}')
    if not terms:
        raise ValueError('no distillation term builds on this pair: ' + json.dumps(skipped))
    start_with = [given_recipe(label, terms, skipped) for label in spec.start_with]
    needed = spec.reserve + 1 + max(1, len(start_with))
    if spec.budget < needed:
        raise ValueError(f'--budget {spec.budget}: the student alone, '
                         f'{max(1, len(start_with))} searched or given recipe(s) and '
                         f'{spec.reserve} confirming runs ({spec.confirm} recipes and the '
                         f'student, {len(spec.seeds) - 1} more seeds) need at least '
                         f'{needed} trainings')
    log(f'[search] terms: {", ".join(term.name for term in terms)}; budget {spec.budget} '
        f'trainings of {spec.trial_epochs} epochs ({spec.reserve} for confirming)')
    study = open_study(spec, start_with)
    study.set_user_attr('left_out', skipped)         # for the report, --report-only's too
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(Objective(spec, terms), catch=(RuntimeError, ))
    return study
