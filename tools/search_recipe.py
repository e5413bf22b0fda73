"""Search which distillation recipe helps a student on its own data, within a training budget.

    python tools/search_recipe.py STUDENT_CONFIG TEACHER_CONFIG TEACHER_CHECKPOINT
        [--work-dir DIR] [--trial-epochs 4] [--budget 12] [--confirm 2] [--seeds 0 1]
        [--terms pkd cwd rpn_roi_kd ...] [--over-iters 50] [--metric coco/bbox_mAP]
        [--storage URL] [--study-name NAME] [--pruner hyperband|halving|none]
        [--heartbeat 60] [--start-with 'pkd x26 + rpn_roi_kd x2.7' ...] [--report-only]
        [--cfg-options k=v ...]

Each trial trains the student with a recipe (a feature term, an output term, each weighted as
a ratio to the detection loss) for ``--trial-epochs`` and scores it on the validation split;
trial 0 is the student alone, then the ``--start-with`` recipes (ones already trusted: the
search then compares with them on its own terms), then those Optuna's sampler draws. The best
``--confirm`` recipes and the student are trained again with the other ``--seeds`` before a
winner is named (each of its seeds above each of the student's, its mean gain larger than the
seed spread), or the report says nothing clearly helped. ``WORK_DIR`` (default
``work_dirs/search_<student config>``) gets ``search.md``, ``search.json``,
``search_history.png``, ``search_importances.png``, every trial's run in ``trial_<n>/`` and
the winner as ``best_recipe.py``, a distillation config for the full schedule::

    python tools/train.py WORK_DIR/best_recipe.py

The study is kept in ``WORK_DIR/study.db`` (SQLite): the same command resumes a killed search.
Several processes (machines, GPUs) work on one study given one ``--storage`` (e.g.
``postgresql://user@host/db``; SQLite for processes on one machine), each running one trial at
a time.
"""
import argparse
import os.path as osp

from mmkd.apis.search import TERMS, SearchSpec, open_study, run_search, write_report
from mmkd.utils import config_argument


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('student_config', type=config_argument)
    parser.add_argument('teacher_config', type=config_argument)
    parser.add_argument('teacher_checkpoint')
    parser.add_argument('--work-dir')
    parser.add_argument('--trial-epochs', type=int, default=4)
    parser.add_argument('--budget', type=int, default=12,
                        help='trainings of --trial-epochs in all, confirming runs included')
    parser.add_argument('--confirm', type=int, default=2,
                        help='recipes trained again with the other seeds')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--terms', nargs='+', choices=[term.name for term in TERMS],
                        help='terms to consider (default: every one that builds on the pair)')
    parser.add_argument('--over-iters', type=int, default=50,
                        help='iterations a relative weight is averaged over')
    parser.add_argument('--metric', default='coco/bbox_mAP')
    parser.add_argument('--storage', help='Optuna storage URL (default: SQLite in the work dir)')
    parser.add_argument('--study-name')
    parser.add_argument('--pruner', default='hyperband', choices=['hyperband', 'halving', 'none'])
    parser.add_argument('--heartbeat', type=int, default=60,
                        help="seconds between a trial's heartbeats; a trial silent for twice "
                        'that is taken as dead and retried')
    parser.add_argument('--sampler-seed', type=int)
    parser.add_argument('--start-with', nargs='+', default=[], metavar='RECIPE',
                        help="recipes to train first, after the student alone, written as the "
                        "report writes them: 'pkd x26 + rpn_roi_kd x2.7' (a term's name, x, "
                        'its ratio to the detection loss)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report of the study as it stands, train nothing')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value options for every trial (data root, say)')
    return parser.parse_args()


def main():
    args = parse_args()
    name = osp.splitext(osp.basename(args.student_config))[0]
    spec = SearchSpec(args.student_config, args.teacher_config, args.teacher_checkpoint,
                      args.work_dir or osp.join('work_dirs', f'search_{name}'),
                      trial_epochs=args.trial_epochs, budget=args.budget, confirm=args.confirm,
                      seeds=args.seeds, terms=args.terms, over_iters=args.over_iters,
                      metric=args.metric, cfg_options=args.cfg_options, storage=args.storage,
                      study_name=args.study_name, heartbeat=args.heartbeat, pruner=args.pruner,
                      sampler_seed=args.sampler_seed, start_with=args.start_with)
    try:
        study = open_study(spec) if args.report_only else run_search(spec)
    except ValueError as err:           # a setting that cannot work: say which, no traceback
        raise SystemExit(f'search_recipe.py: error: {err}') from None
    outcome = write_report(study, spec)
    print(f'[search] {outcome.verdict}')
    print(f"[search] report: {osp.join(spec.work_dir, 'search.md')}")
    if outcome.winner:
        print(f"[search] train it: python tools/train.py "
              f"{osp.join(spec.work_dir, 'best_recipe.py')}")


if __name__ == '__main__':
    main()
