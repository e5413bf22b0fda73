"""The demo report: its arithmetic on hand-made runs, and tools/demo.py --quick end to end."""
import importlib.util
import math
import os
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
    out = run_tool('tools/demo.py', '--task', 'faces', '--quick', '--seeds', '0', '1',
                   '--jobs', '2', '--work-dir', str(tmp_path / 'demo'),
                   '--data-root', str(tmp_path / 'data'))
    assert 'student + ClsMapKD (seed mining) | 2 |' in out
    assert (tmp_path / 'demo' / 'student_clskd_seed1' / 'train.out').stat().st_size > 0
    for name in ('results.md', 'map_by_model.png', 'loss_curves.png'):
        assert (tmp_path / 'demo' / name).stat().st_size > 0
    assert (tmp_path / 'demo' / 'student_clskd_seed1').is_dir()
    trained = (tmp_path / 'demo' / 'results.md').read_text()
    (tmp_path / 'demo' / 'results.md').unlink()
    run_tool('tools/demo.py', '--task', 'faces', '--quick', '--seeds', '0', '1', '--report-only',
             '--work-dir', str(tmp_path / 'demo'), '--data-root', str(tmp_path / 'data'))
    assert (tmp_path / 'demo' / 'results.md').read_text() == trained
    # --reuse keeps the finished runs and trains only the missing seed
    before = (tmp_path / 'demo' / 'student_seed0' / 'train.out').stat().st_mtime_ns
    out = run_tool('tools/demo.py', '--task', 'faces', '--quick', '--seeds', '0', '1', '2',
                   '--reuse', '--jobs', '2', '--work-dir', str(tmp_path / 'demo'),
                   '--data-root', str(tmp_path / 'data'))
    assert 'demo/student_clskd_seed1: reusing the finished run' in out
    assert 'demo/student_seed2: reusing' not in out
    assert (tmp_path / 'demo' / 'student_seed0' / 'train.out').stat().st_mtime_ns == before
    assert (tmp_path / 'demo' / 'student_clskd_seed2' / 'train.out').stat().st_size > 0
    assert 'student + ClsMapKD (seed mining) | 3 |' in out
