"""The demo report: its arithmetic on hand-made runs, and tools/demo.py --quick end to end."""
import importlib.util
import json
import math
import os
import shutil
import sys

import pytest

from conftest import ROOT, run_tool
from mmkd.apis.report import gap_recovered, mean_sd, results_table


def runs(*box_maps, minutes=1.0):
    return [{'coco/bbox_mAP': v, 'coco/bbox_mAP_50': 2 * v, 'train_minutes': minutes}
            for v in box_maps]


def test_mean_sd_and_gap_recovered():
    assert mean_sd([0.30, 0.34, 0.32]) == pytest.approx((0.32, 0.02))
    assert mean_sd([0.5]) == (0.5, 0.0)
    assert gap_recovered(0.44, 0.34, 0.49) == pytest.approx(2 / 3)
    assert math.isnan(gap_recovered(0.44, 0.5, 0.49))


def test_results_table_reports_delta_gap_and_seed_spread():
    table = results_table([('teacher', runs(0.50)), ('student', runs(0.30, 0.34, 0.32)),
                           ('clear gain', runs(0.41, 0.40, 0.42)),
                           ('noise', runs(0.31, 0.35, 0.33, minutes=2.0))]).splitlines()
    assert table[0] == ('| model | seeds | box mAP | mAP50 | delta box mAP | gap recovered | '
                        'train min |')
    assert table[1].count('---') == table[0].count('|') - 1
    assert table[3] == '| student | 3 | 0.320 ± 0.020 | 0.640 ± 0.040 |  |  | 1.0 |'
    assert table[4] == '| clear gain | 3 | 0.410 ± 0.010 | 0.820 ± 0.020 | +0.090 | 50% | 1.0 |'
    assert table[5] == ('| noise | 3 | 0.330 ± 0.020 | 0.660 ± 0.040 | +0.010 (within seed '
                        'spread) | 6% | 2.0 |')


def test_results_table_with_two_teachers_measures_the_gap_from_the_first():
    table = results_table([('teacher', runs(0.50)), ('second teacher', runs(0.40)),
                           ('student', runs(0.30, 0.34, 0.32)),
                           ('kd', runs(0.41, 0.40, 0.42))], teachers=2).splitlines()
    assert table[3] == '| second teacher | 1 | 0.400 | 0.800 |  |  | 1.0 |'
    assert table[5] == '| kd | 3 | 0.410 ± 0.010 | 0.820 ± 0.020 | +0.090 | 50% | 1.0 |'


def fake_run(run_dir, box_map, minutes=None):
    """A finished run dir as tools/train.py leaves it: a training and a validation record."""
    log = run_dir / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    log.joinpath('scalars.json').write_text(
        json.dumps({'lr': 0.01, 'loss': 1.0, 'iter': 1}) + '\n'
        + json.dumps({'coco/bbox_mAP': box_map, 'coco/bbox_mAP_50': 2 * box_map}) + '\n')
    if minutes is not None:
        run_dir.joinpath('demo_stage.json').write_text(json.dumps({'train_minutes': minutes,
                                                                   'epochs': 12}))


def test_demo_report_rows_for_two_teachers_and_each_born_again_generation(tmp_path):
    work = tmp_path / 'demo'
    fake_run(work / 'teacher', 0.50)
    fake_run(work / 'teacher_seed1', 0.46)
    for name in ('teacher', 'teacher_seed1'):
        (work / name / 'epoch_12.pth').write_bytes(b'')
    fake_run(work / 'student_seed0', 0.30, minutes=1.0)
    fake_run(work / 'student_two_teachers_seed0', 0.35, minutes=2.0)
    born_again = work / 'student_born_again_seed0'
    fake_run(born_again / 'stage1_born_again_frcnn', 0.52)
    fake_run(born_again / 'stage2_born_again_frcnn', 0.48)
    born_again.joinpath('demo_stage.json').write_text('{"train_minutes": 9.0, "epochs": 12}')
    run_tool('tools/demo.py', '--task', 'shapes', '--methods', 'two_teachers', 'born_again',
             '--seeds', '0', '--report-only', '--work-dir', str(work))
    table = (work / 'results.md').read_text().splitlines()
    assert table[2].startswith('| teacher (Faster R-CNN R18 w32, FPN 64) | 1 | 0.500 |')
    assert table[3].startswith('| teacher (Faster R-CNN R18 w32, FPN 64), seed 1 | 1 | 0.460 |')
    assert table[3].endswith('|  |  | - |')
    assert table[4].startswith('| student (Faster R-CNN R18 w8, FPN 32) | 1 | 0.300 |')
    assert table[5].startswith('| student + PKD from two teachers (mean) | 1 | 0.350 |')
    assert table[5].endswith('| +0.050 | 25% | 2.0 |')
    assert table[6].startswith('| born-again generation 1 (teacher size) | 1 | 0.520 |')
    assert table[6].endswith('| +0.220 | 110% | 9.0 |')
    assert table[7].startswith('| born-again generation 2 (teacher size) | 1 | 0.480 |')


def test_methods_all_reports_every_method_of_the_task(tmp_path):
    work = tmp_path / 'demo'
    for name, box_map in (('teacher', 0.50), ('teacher_seed1', 0.46), ('student_seed0', 0.30),
                          ('student_clskd_seed0', 0.40), ('student_logitkd_seed0', 0.38),
                          ('student_two_teachers_seed0', 0.36)):
        fake_run(work / name, box_map, minutes=1.0)
    for name in ('teacher', 'teacher_seed1'):
        (work / name / 'epoch_12.pth').write_bytes(b'')
    run_tool('tools/demo.py', '--task', 'faces', '--methods', 'all', '--seeds', '0',
             '--report-only', '--work-dir', str(work))
    rows = [line.split(' | ')[:3] for line in (work / 'results.md').read_text().splitlines()[2:]]
    assert [(label.lstrip('| '), box_map) for label, _, box_map in rows] == [
        ('teacher (RetinaNet R18 w32, FPN 64)', '0.500'),
        ('teacher (RetinaNet R18 w32, FPN 64), seed 1', '0.460'),
        ('student (RetinaNet R18 w8, FPN 32)', '0.300'),
        ('student + ClsMapKD (seed mining)', '0.400'),
        ('student + logit KD (T 2)', '0.380'),
        ('student + logit KD from two teachers (mean)', '0.360')]
    # methods without finished runs are left out, and the teachers only they read
    for name in ('student_two_teachers_seed0', 'teacher_seed1'):
        shutil.rmtree(work / name)
    log = run_tool('tools/demo.py', '--task', 'faces', '--methods', 'all', '--seeds', '0',
                   '--report-only', '--work-dir', str(work))
    assert 'no finished runs of two_teachers' in log
    rows = [line.split(' | ')[0] for line in (work / 'results.md').read_text().splitlines()[2:]]
    assert rows == ['| teacher (RetinaNet R18 w32, FPN 64)', '| student (RetinaNet R18 w8, FPN 32)',
                    '| student + ClsMapKD (seed mining)', '| student + logit KD (T 2)']


def load_demo():
    spec = importlib.util.spec_from_file_location('demo', os.path.join(ROOT, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    return demo


def test_training_slots_share_threads_and_stop_after_a_failure(tmp_path):
    slots = load_demo().TrainingSlots(jobs=2)
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    show_threads = [sys.executable, '-c', 'import os; print(os.environ["OMP_NUM_THREADS"])']
    assert slots.run('threads', show_threads, str(tmp_path / 'a')) >= 0
    assert (tmp_path / 'a' / 'train.out').read_text().strip() == str(threads)
    with pytest.raises(SystemExit, match=r'broken failed \(exit 3\); its output: .*b/train.out'):
        slots.run('broken', [sys.executable, '-c', 'raise SystemExit(3)'], str(tmp_path / 'b'))
    with pytest.raises(SystemExit, match='later: not started after broken failed'):
        slots.run('later', show_threads, str(tmp_path / 'c'))
    assert not (tmp_path / 'c').exists()


def test_quick_demo_writes_table_and_plots(tmp_path):
    def demo(*args):
        return run_tool('tools/demo.py', '--task', 'faces', '--quick', '--work-dir',
                        str(tmp_path / 'demo'), '--data-root', str(tmp_path / 'data'), *args)

    demo('--seeds', '0', '--jobs', '2')
    for name in ('results.md', 'map_by_model.png', 'loss_curves.png'):
        assert (tmp_path / 'demo' / name).stat().st_size > 0
    trained = (tmp_path / 'demo' / 'results.md').read_text()
    (tmp_path / 'demo' / 'results.md').unlink()
    demo('--seeds', '0', '--report-only')
    assert (tmp_path / 'demo' / 'results.md').read_text() == trained
    before = (tmp_path / 'demo' / 'student_seed0' / 'train.out').stat().st_mtime_ns
    # --reuse keeps the finished runs and trains only the missing seed, two runs at a time
    out = demo('--seeds', '0', '1', '--reuse', '--jobs', '2')
    assert 'demo/student_clskd_seed0: reusing the finished run' in out
    assert 'demo/student_seed1: reusing' not in out
    assert (tmp_path / 'demo' / 'student_seed0' / 'train.out').stat().st_mtime_ns == before
    assert (tmp_path / 'demo' / 'student_clskd_seed1' / 'train.out').stat().st_size > 0
    assert 'student + ClsMapKD (seed mining) | 2 |' in out


def test_every_demo_task_names_configs_that_exist_and_offers_its_defaults():
    demo = load_demo()
    for name, task in demo.TASKS.items():
        configs = [task['teacher'][0], task['student'][0]]
        for method in task['methods'].values():
            configs += demo.Method(*method).chain
        missing = [c for c in configs if not os.path.isfile(os.path.join(ROOT, 'configs', c))]
        assert not missing, (name, missing)
        assert set(task['default_methods']) <= set(task['methods']), name
