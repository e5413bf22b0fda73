"""tools/search_recipe.py: the recipe search on Optuna, on the shapes pair with a tiny budget.

Each trial trains 1 epoch of 2 iterations on 8 generated images (teacher at random weights), so
the scores are noise; what is checked is the search's bookkeeping: trial 0 is the student
alone, a killed search resumes without training a finished trial again, two processes on one
SQLite study split the trials, the verdict's rule and the config it writes, which trains."""
import os
import os.path as osp
import subprocess
import sys
import time

import optuna
import pytest

from conftest import ROOT, STUDENT_CONFIG, TEACHER_CONFIG, run_tool, save_fresh_checkpoint
from mmkd.apis.search import (Recipe, SearchSpec, applicable_terms, shortened_schedule,
                              write_report)
from mmkd.apis.search.study import given_recipe
from mmkd.datasets.shapes import write_split


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('search_data')
    write_split(str(root), 'train', 8)
    write_split(str(root), 'val', 4)
    return str(root)


def tiny_options(data_root):
    options = ['train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
               'val_dataloader.persistent_workers=False']
    for split in ('train', 'val'):
        options += [f'{split}_dataloader.dataset.data_root={data_root}/',
                    f'{split}_dataloader.dataset.num_images={8 if split == "train" else 4}']
    return options + [f'val_evaluator.ann_file={data_root}/annotations/val.json']


def search_command(work_dir, teacher_checkpoint, data_root, *extra):
    return ['tools/search_recipe.py', STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint,
            '--work-dir', str(work_dir), '--trial-epochs', '1', '--heartbeat', '1',
            '--pruner', 'none', *extra, '--cfg-options', *tiny_options(data_root)]


def load_study(work_dir):
    storage = f"sqlite:///{osp.join(work_dir, 'study.db')}"
    return optuna.load_study(study_name=osp.basename(work_dir), storage=storage)


def trainings(study):
    """(recipe label, seed) of every trial that trained (finished, not a copy of another)."""
    return [(t.user_attrs['recipe'], t.user_attrs['seed']) for t in study.trials
            if t.state == optuna.trial.TrialState.COMPLETE and 'same_as' not in t.user_attrs]


def test_a_killed_search_resumes_without_training_a_finished_trial_again(tmp_path, tiny_data,
                                                                         teacher_checkpoint):
    work = tmp_path / 'search'
    cmd = search_command(work, teacher_checkpoint, tiny_data, '--terms', 'pkd', 'rpn_roi_kd',
                         '--budget', '2', '--confirm', '0', '--seeds', '0')
    search = subprocess.Popen([sys.executable, *cmd], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    first, killed = [], None
    for line in search.stdout:   # killed (SIGKILL, as the OOM killer) once a recipe trains
        first.append(line)
        if line.startswith('[search] trial ') and 'epoch' not in line \
                and not line.startswith('[search] trial 0:'):
            killed = int(line.split()[2].rstrip(':'))     # (a sampled student is no training)
            search.kill()
            break
    search.wait()
    assert search.returncode == -9, ''.join(first[-30:])
    assert any(line.startswith('[search] trial 0: student alone, seed 0') for line in first)
    killed_recipe = first[-1].split(': ', 1)[1].split(', seed')[0]
    assert killed_recipe != 'student alone'
    time.sleep(3)          # the dead trial's heartbeat (every 1 s) is stale after 2 s

    second = run_tool(*cmd)
    started = [line for line in second.splitlines() if line.startswith('[search] trial ')
               and 'epoch' not in line]
    assert not any('student alone, seed 0' in line for line in started), started
    assert any(f'{killed_recipe}, seed 0' in line for line in started), started   # retried
    study = load_study(work)
    assert study.trials[killed].state == optuna.trial.TrialState.FAIL
    done = trainings(study)
    assert sorted(done) == [(killed_recipe, 0), ('student alone', 0)], done
    assert study.trials[0].user_attrs['recipe'] == 'student alone'
    report = (work / 'search.md').read_text()
    assert '| student alone | 1 |' in report and f'| {killed_recipe} | 1 |' in report
    # the trial's config is a normal distillation config, its weights ratios
    retried = [t for t in study.trials if t.user_attrs.get('recipe') == killed_recipe
               and t.state == optuna.trial.TrialState.COMPLETE][0]
    recipe = (work / f'trial_{retried.number}' / 'recipe.py').read_text()
    assert "type='mmkd.DistillDetector'" in recipe and 'ratio=' in recipe


def test_two_processes_on_one_study_split_the_trials(tmp_path, tiny_data, teacher_checkpoint):
    work = tmp_path / 'shared'
    cmd = [sys.executable, *search_command(work, teacher_checkpoint, tiny_data, '--terms',
                                           'pkd', 'cwd', '--budget', '4', '--confirm', '1',
                                           '--seeds', '0', '1')]
    os.makedirs(work)
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    second = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    outputs = [process.communicate(timeout=240)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], ''.join(o[-3000:] for o in outputs)
    study = load_study(work)
    done = trainings(study)
    assert len(done) == len(set(done)) == 4, done        # the budget, nothing trained twice
    assert {seed for _, seed in done} == {0, 1}
    processes = {t.user_attrs['process'] for t in study.trials if 'process' in t.user_attrs
                 and 'same_as' not in t.user_attrs}
    assert len(processes) == 2, processes


@pytest.fixture(scope='module')
def shapes_terms(teacher_checkpoint, tmp_path_factory):
    spec = SearchSpec(STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint,
                      str(tmp_path_factory.mktemp('terms')))
    return applicable_terms(spec)


def test_the_search_space_is_what_builds_on_the_pair(teacher_checkpoint, tmp_path,
                                                     shapes_terms):
    spec = SearchSpec(STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint, str(tmp_path))
    terms, skipped = shapes_terms
    assert [t.name for t in terms] == ['pkd', 'cwd', 'mgd', 'fgd', 'reviewkd', 'rpn_roi_kd',
                                       'roi_crosskd']
    assert sorted(skipped) == ['crosskd', 'hungarian_kd', 'kd_detr', 'ld', 'logit_kd',
                               'query_prior', 'retina_crosskd', 'target_aware']
    for detr_term in ('hungarian_kd', 'kd_detr', 'query_prior', 'target_aware'):
        assert 'is not a DETR-family detector' in skipped.pop(detr_term)
    assert all("'bbox_head" in reason for reason in skipped.values()), skipped
    with pytest.raises(ValueError, match=r"--terms \['pdk'\]: unknown"):
        applicable_terms(spec, ['pdk'])


def test_a_retinanet_pair_searches_crosskd_on_its_heads_not_gfls(tmp_path):
    """CrossKD has a term per head kind: on the RetinaNet face pair ``retina_crosskd`` builds and
    ``crosskd`` (GFL heads) is left out, naming the head it found."""
    teacher = osp.join(ROOT, 'configs', 'retinanet_r18w32_teacher_faces.py')
    student = osp.join(ROOT, 'configs', 'retinanet_r18w8_student_faces.py')
    checkpoint = save_fresh_checkpoint(teacher, str(tmp_path / 'teacher.pth'))
    spec = SearchSpec(student, teacher, checkpoint, str(tmp_path))
    terms, skipped = applicable_terms(spec, ['crosskd', 'retina_crosskd', 'logit_kd'])
    assert [t.name for t in terms] == ['retina_crosskd', 'logit_kd']
    assert list(skipped) == ['crosskd']
    assert 'GFLHead' in skipped['crosskd'] and 'RetinaHead' in skipped['crosskd']


def test_a_shorter_trial_is_the_same_schedule_scaled():
    assert shortened_schedule(STUDENT_CONFIG, 4) == [
        'train_cfg.max_epochs=4', 'train_cfg.val_interval=1', 'param_scheduler.1.end=4',
        'param_scheduler.1.milestones=[3]']          # 12 epochs, step at 9; the warm-up by iter
    mmdet_1x = shortened_schedule('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 3)
    assert mmdet_1x[2:] == ['param_scheduler.1.end=3', 'param_scheduler.1.milestones=[2,3]']


def synthetic_study(scores):
    """A study holding finished trials: ``scores`` maps a recipe to its score by seed."""
    study = optuna.create_study(direction='maximize')
    distributions = dict(
        feature=optuna.distributions.CategoricalDistribution(['none', 'pkd', 'cwd']),
        feature_ratio=optuna.distributions.FloatDistribution(0.1, 40, log=True),
        output=optuna.distributions.CategoricalDistribution(['none', 'rpn_roi_kd']),
        output_ratio=optuna.distributions.FloatDistribution(0.1, 10, log=True))
    for recipe, by_seed in scores.items():
        for seed, value in by_seed.items():
            study.add_trial(optuna.trial.create_trial(
                value=value, params=recipe.params, distributions=distributions,
                user_attrs=dict(params=recipe.params, seed=seed, recipe=recipe.label,
                                confirms=None if seed == 0 else 0, epochs=1)))
    return study


def test_a_winner_beats_the_student_on_every_seed_and_its_config_trains(
        tmp_path, tiny_data, teacher_checkpoint):
    spec = SearchSpec(STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint, str(tmp_path),
                      seeds=(0, 1))
    steady = Recipe('pkd', 2.5, 'rpn_roi_kd', 0.8)
    scores = {Recipe(): {0: 0.25, 1: 0.28},
              steady: {0: 0.30, 1: 0.32},                   # each seed above each student seed
              Recipe('cwd', 1.0): {0: 0.36, 1: 0.27},       # a higher mean, within the spread
              Recipe('pkd', 9.0): {0: 0.40}}                # the best seed-0 score, unconfirmed
    outcome = write_report(synthetic_study(scores), spec)
    assert outcome.winner['label'] == 'pkd x2.5 + rpn_roi_kd x0.8'
    assert 'beats the student alone outside the seed spread (0.300, 0.320 against 0.250, ' \
        '0.280)' \
        in outcome.verdict
    best = tmp_path / 'best_recipe.py'
    text = best.read_text()
    assert "dict(type='mmkd.PKD', student='neck', teacher='neck', loss_weight=dict(ratio=2.5" \
        in text
    assert text.count('ratio=0.4,') == 2                      # the output term's two halves
    assert (tmp_path / 'search.md').is_file() and (tmp_path / 'search_history.png').is_file()

    log = run_tool('tools/train.py', str(best), '--work-dir', str(tmp_path / 'run'),
                   '--cfg-options', 'train_cfg.max_epochs=1', *tiny_options(tiny_data))
    assert 'loss_weight fixed at' not in log             # 2 iterations, fixed after 50
    assert 'weight_pkd' in log and 'weight_rpn_kd_cls' in log and 'loss_rcnn_kd_cls' in log
    assert (tmp_path / 'run' / 'epoch_1.pth').is_file()

    scores[Recipe()] = {0: 0.25, 1: 0.31}                  # now within the student's spread
    outcome = write_report(synthetic_study(scores), spec)
    assert outcome.winner is None and 'no recipe beat the student alone' in outcome.verdict
    assert not best.exists()


def test_a_gain_smaller_than_the_seed_spread_does_not_win(tmp_path, teacher_checkpoint):
    """The cards search's 4-epoch scores: two student seeds that agree (0.081, 0.081) and a
    recipe whose seeds both beat them but differ by more than its mean gain."""
    spec = SearchSpec(STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint, str(tmp_path))
    student = {0: 0.081, 1: 0.081}
    noisy = {Recipe(): student, Recipe('cwd', 3.13): {0: 0.085, 1: 0.123}}   # gain 0.023 < 0.038
    outcome = write_report(synthetic_study(noisy), spec)
    assert outcome.winner is None and 'did not clearly help' in outcome.verdict
    clear = {Recipe(): student, Recipe('cwd', 3.13): {0: 0.125, 1: 0.123}}   # gain 0.043 > 0.002
    assert write_report(synthetic_study(clear), spec).winner['label'] == 'cwd x3.13'
    # the student's own spread counts too: gain 0.045, student seeds 0.05 apart
    wide = {Recipe(): {0: 0.20, 1: 0.25}, Recipe('pkd', 2.0): {0: 0.27, 1: 0.27}}
    assert write_report(synthetic_study(wide), spec).winner is None


def test_a_report_written_while_another_process_trains_says_it_is_not_final(tmp_path,
                                                                           teacher_checkpoint):
    spec = SearchSpec(STUDENT_CONFIG, TEACHER_CONFIG, teacher_checkpoint, str(tmp_path))
    study = synthetic_study({Recipe(): {0: 0.12, 1: 0.13}, Recipe('pkd', 30.0): {0: 0.21}})
    recipe = Recipe('pkd', 30.0)
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.RUNNING, params=recipe.params,
        distributions=study.trials[0].distributions,
        user_attrs=dict(params=recipe.params, seed=1, recipe=recipe.label, confirms=1)))
    verdict = write_report(study, spec).verdict
    assert verdict.startswith('no recipe has been run with every seed yet (1 trial(s) still '
                              'running in another process'), verdict


def test_a_given_recipe_trains_first_after_the_student(tmp_path, tiny_data, teacher_checkpoint):
    work = tmp_path / 'given'
    out = run_tool(*search_command(work, teacher_checkpoint, tiny_data, '--terms', 'pkd',
                                   'rpn_roi_kd', '--budget', '2', '--confirm', '0', '--seeds',
                                   '0', '--start-with', 'pkd x26 + rpn_roi_kd x2.7'))
    assert '[search] trial 1: pkd x26 + rpn_roi_kd x2.7, seed 0' in out, out[-3000:]
    study = load_study(work)
    assert sorted(trainings(study)) == [('pkd x26 + rpn_roi_kd x2.7', 0), ('student alone', 0)]
    recipe = (work / 'trial_1' / 'recipe.py').read_text()
    assert recipe.count('loss_weight=dict(over_iters=50, ratio=26.0)') == 1
    assert recipe.count('loss_weight=dict(over_iters=50, ratio=1.35)') == 2   # the output halves
    assert '| pkd x26 + rpn_roi_kd x2.7 (given: --start-with) | 0 |' in \
        (work / 'search.md').read_text()


@pytest.mark.parametrize('label, message', [
    ('pkd 26', 'write a recipe as NAME xRATIO'),
    ('pkd x26 + cwd x1', 'at most one feature term'),
    ('ld x1', "'ld' is not a term of this search"),
    ('pkd x0', 'must be > 0')])
def test_a_given_recipe_that_cannot_be_read_names_the_option(label, message, shapes_terms):
    terms, skipped = shapes_terms
    with pytest.raises(ValueError, match=f'--start-with .*{message}') as error:
        given_recipe(label, terms, skipped)
    if label == 'ld x1':        # left out on this pair: the reason is given
        assert 'ld left out: ' in str(error.value) and 'bbox_head' in str(error.value)
    assert given_recipe('rpn_roi_kd x2.1 + pkd x30', terms, skipped) == \
        Recipe('pkd', 30.0, 'rpn_roi_kd', 2.1)


RELATIVE = {'searched_frcnn_shapes.py': [27.3, 0.882], 'searched_frcnn_mv2_bccd.py': [0.474],
            'searched_frcnn_mv2_cards.py': [3.13],
            'searched_e4_frcnn_mv2_bccd.py': [30.0, 1.05, 1.05],
            'searched_e4_frcnn_mv2_cards.py': [30.0, 1.05, 1.05],
            # the BCCD default's ratios over its first 50 iterations on BCCD
            'pkd_outputs_relative_frcnn.py': [30.0, 0.92, 1.19],
            'pkd_outputs_relative_frcnn_mv2_bccd.py': [30.0, 0.92, 1.19],
            'pkd_outputs_relative_frcnn_mv2_cards.py': [30.0, 0.92, 1.19]}


@pytest.mark.parametrize('config', sorted(RELATIVE))
def test_the_configs_with_relative_weights_build_with_their_ratios(config, teacher_checkpoint,
                                                                   tmp_path):
    """The winners kept in configs/ (docs/benchmarks/search.md) and the BCCD default with
    relative weights build, each weight a relative one; the latter are the default's distillers
    but for the weights."""
    from mmengine.config import Config
    from mmkd.registry import MODELS
    from conftest import CONFIGS, save_fresh_checkpoint
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.teacher.checkpoint = teacher_checkpoint if 'shapes' in config or '_mv2_' not in config \
        else save_fresh_checkpoint(cfg.teacher.config, str(tmp_path / 'teacher.pth'))
    model = MODELS.build(cfg)
    assert [d.relative_weight.ratio for d in model.distillers] == RELATIVE[config]
    if 'relative' in config:
        default = Config.fromfile(osp.join(CONFIGS, config.replace('relative', 'w2'))).model
        strip = lambda cfgs: [{k: v for k, v in c.items() if k != 'loss_weight'} for c in cfgs]
        assert strip(cfg.distillers) == strip(default.distillers)
        assert [c.loss_weight for c in default.distillers] == [6.0, 2.0, 2.0]
