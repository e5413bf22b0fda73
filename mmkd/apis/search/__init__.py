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
trained again with further seeds, and a recipe is named the winner only if it beats the student
outside the seed spread (each of its seeds above each of the student's, its mean gain larger
than the spread of either); otherwise the search says that nothing clearly helped. The study
lives in Optuna's storage (an SQLite file in the work dir by default): the same command resumes
a killed search (finished trials are kept; a trial whose process died is failed by its missing
heartbeat and retried), and several processes given one ``--storage`` share the trials.
"""
from .outcome import Outcome, summarise, write_report
from .runs import TrialRun, load_config, recipe_config, shortened_schedule
from .space import TERMS, Recipe, Term, applicable_terms, suggest_recipe
from .spec import SearchSpec
from .study import Objective, open_study, run_search

__all__ = ['Objective', 'Outcome', 'Recipe', 'SearchSpec', 'TERMS', 'Term', 'TrialRun',
           'applicable_terms', 'load_config', 'open_study', 'recipe_config', 'run_search',
           'shortened_schedule', 'suggest_recipe', 'summarise', 'write_report']
