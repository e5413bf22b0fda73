"""What a search found: the verdict, the report, the plots and ``best_recipe.py``."""
import json
import math
import os
import os.path as osp
import statistics
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .runs import recipe_config
from .space import Recipe
from .spec import SearchSpec


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
    best mean among those that beat the student alone outside the seed spread; none if no
    recipe does (``beats_outside_spread``)."""
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
                         given=bool(t.user_attrs.get('given')),
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
                            beats_student=len(values) == len(spec.seeds)
                            and beats_outside_spread(values, student)))
    recipes.sort(key=lambda r: (not r['confirmed'], -r['mean']))
    winners = [r for r in recipes if r['beats_student']]
    winner = winners[0] if winners else None
    if not student:
        verdict = 'the student alone has no finished run yet: nothing to compare with'
    elif winner:
        verdict = (f"{winner['label']} beats the student alone outside the seed spread "
                   f"({_scores(winner['values'])} against {_scores(student)})")
    elif any(r['confirmed'] for r in recipes):
        verdict = ('no recipe beat the student alone outside the seed spread (each seed of a '
                   f'recipe above each of the student\'s {_scores(student)}, the mean gain '
                   'larger than the spread of either): distillation did not clearly help at '
                   'this trial length; train the hand-picked default for the full schedule, '
                   'or search again with longer trials')
    else:
        verdict = 'no recipe has been run with every seed yet'
    running = sum(row['state'] == 'running' for row in rows)
    if running and not winner:
        verdict += (f' ({running} trial(s) still running in another process: its end writes '
                    'the final report, as does --report-only)')
    return Outcome(rows, recipes, student, winner, verdict)


def beats_outside_spread(values: Sequence[float], student: Sequence[float]) -> bool:
    """Whether a recipe's scores (one per seed) beat the student alone's outside the seed
    spread: each of its seeds above each of the student's, and its mean gain larger than the
    spread (max - min) of either's seeds. With two seeds the spread is all there is to tell
    noise by: two student seeds that happen to agree must not let any gain count."""
    if not values or not student:
        return False
    spread = max(max(values) - min(values), max(student) - min(student))
    return (min(values) > max(student)
            and statistics.fmean(values) - statistics.fmean(student) > spread)


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
        recipe = row['recipe'] + (' (given: --start-with)' if row.get('given') else '')
        lines.append(f"| {row['trial']} | {recipe} | {row['seed']} | {row['state']} | "
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
