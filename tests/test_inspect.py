"""tools/inspect_distill.py: the pairing, the teacher on the config's data, the loss scales and
the pictures, on the shapes configs with a random teacher."""
import os.path as osp

import mmcv
import numpy as np
import torch
from mmengine.config import Config

from conftest import (CONFIGS, REVIEWKD_CONFIG, STUDENT_CONFIG, TEACHER_CONFIG, run_tool,
                      save_fresh_checkpoint)
from mmkd.apis.inspect import title_strip
from mmkd.utils import load_run_config
from test_tools_e2e import parsed_options, tiny_data_options


def inspect(tmp_path, *options, args=('--pictures', '0')):
    out = tmp_path / 'inspect'
    log = run_tool('tools/inspect_distill.py', REVIEWKD_CONFIG, '--val-images', '4', '--batches',
                   '2', '--out', str(out), *args, '--cfg-options',
                   *tiny_data_options(tmp_path / 'data'), *options)
    return log, (out / 'inspect.md').read_text(), out


def assert_titled_panels(path, titles):
    """The picture at ``path`` is one square panel per title side by side, each under the strip
    :func:`title_strip` draws for its title (so: titled, in this order)."""
    picture = mmcv.imread(str(path), channel_order='rgb')
    width = picture.shape[1] // len(titles)
    strips = [title_strip(title, width, width) for title in titles]
    rows = strips[0].shape[0]
    assert picture.shape[:2] == (rows + width, len(titles) * width)
    for index, (title, strip) in enumerate(zip(titles, strips)):
        assert (strip < 128).any(), title            # the text is drawn
        assert np.array_equal(picture[:rows, index * width:(index + 1) * width], strip), title


def test_pairing_loss_scales_and_pictures(tmp_path):
    torch.manual_seed(0)    # random weights that score nothing (a chance hit could score)
    teacher_checkpoint = save_fresh_checkpoint(TEACHER_CONFIG, str(tmp_path / 'teacher.pth'))
    student = save_fresh_checkpoint(STUDENT_CONFIG, str(tmp_path / 'student.pth'))
    log, report, out = inspect(tmp_path, f'model.teacher.checkpoint={teacher_checkpoint}',
                               args=('--pictures', '2', '--student-checkpoint', student))
    assert report in log
    # the shapes pair: 5 FPN levels, 32 -> 64 channels, strides 4-64
    assert ('stride 4: 32 -> 64 ch; stride 8: 32 -> 64 ch; stride 16: 32 -> 64 ch; '
            'stride 32: 32 -> 64 ch; stride 64: 32 -> 64 ch') in report
    assert '| loss_reviewkd | model.distillers.0 (ReviewKD) |' in report
    assert '| detection total | student |' in report
    # both at random weights: the teacher does not beat the student given
    assert f'| student from {student} | 0.000 |' in report
    assert 'does not beat the trained student (0.000)' in report
    for name in ('levels_0_ReviewKD_0.png', 'levels_0_ReviewKD_1.png', 'detections_0.png',
                 'detections_1.png'):
        assert osp.getsize(out / name) > 1000, name
    assert_titled_panels(out / 'detections_0.png', ['ground truth', 'teacher', 'student'])


def test_a_teacher_of_another_class_count_is_flagged_with_the_cause(tmp_path):
    cfg = Config.fromfile(TEACHER_CONFIG)
    cfg.model.roi_head.bbox_head.num_classes = 3
    cfg.dump(tmp_path / 'teacher_3_classes.py')
    torch.manual_seed(0)    # random weights that score nothing (a chance hit could score)
    checkpoint = save_fresh_checkpoint(str(tmp_path / 'teacher_3_classes.py'),
                                       str(tmp_path / 't3.pth'))
    _, report, _ = inspect(tmp_path, f'model.teacher.config={tmp_path}/teacher_3_classes.py',
                           f'model.teacher.checkpoint={checkpoint}')
    # flagged whatever it scores, and named as the likely cause of a score under the floor
    assert ('**WARNING** the teacher predicts 3 classes, the data set has 8: its class scores '
            "do not mean the data set's classes") in report
    assert '**WARNING** the teacher scores 0.000 box mAP, under 0.01' in report
    assert ('Likely causes: a class count other than the data set\'s: the teacher predicts 3 '
            'classes, the data set has 8') in report


def test_each_of_several_teachers_is_scored_and_flagged_by_its_key(tmp_path, teacher_checkpoint):
    cfg = Config.fromfile(TEACHER_CONFIG)
    cfg.model.roi_head.bbox_head.num_classes = 3
    cfg.dump(tmp_path / 'teacher_3_classes.py')
    torch.manual_seed(0)
    checkpoint = save_fresh_checkpoint(str(tmp_path / 'teacher_3_classes.py'),
                                       str(tmp_path / 't3.pth'))
    out = tmp_path / 'inspect'
    run_tool('tools/inspect_distill.py', osp.join(CONFIGS, 'pkd_each_teacher_frcnn.py'),
             '--val-images', '4', '--batches', '1', '--out', str(out), '--pictures', '1',
             '--cfg-options', *tiny_data_options(tmp_path / 'data'),
             f'model.teachers.0.checkpoint={teacher_checkpoint}',
             f'model.teachers.1.config={tmp_path}/teacher_3_classes.py',
             f'model.teachers.1.checkpoint={checkpoint}')
    report = (out / 'inspect.md').read_text()
    assert '| [0] PKD | neck | teacher 0: neck | stride 4: 32 -> 64 ch;' in report
    assert '| [1] PKD | neck | teacher 1: neck | stride 4: 32 -> 64 ch;' in report
    # each teacher's loss is owned by its distiller, not counted with the detection losses
    assert '| teacher0.loss_pkd | model.distillers.0 (PKD) |' in report
    assert '| teacher1.loss_pkd | model.distillers.1 (PKD) |' in report
    assert '| teacher 0 | 0.000 | 0.000 | 8 |' in report
    assert '| teacher 1 | 0.000 | 0.000 | 3 |' in report
    assert ('**WARNING** the teacher 1 predicts 3 classes, the data set has 8: its class '
            "scores do not mean the data set's classes (model.teachers[1].config)") in report
    assert 'the teacher 0 predicts' not in report
    assert (f'(model.teachers[0].checkpoint={teacher_checkpoint})') in report
    assert_titled_panels(out / 'detections_0.png',
                         ['ground truth', 'teacher 0', 'teacher 1', 'student'])


def test_a_distill_weight_1000x_too_high_is_flagged_with_its_key(tmp_path, teacher_checkpoint):
    _, report, _ = inspect(tmp_path, f'model.teacher.checkpoint={teacher_checkpoint}',
                           'model.distillers.0.loss_weight=1200.0')
    warning = [line for line in report.splitlines() if 'loss_reviewkd is' in line]
    assert warning and 'set model.distillers.0.loss_weight (now 1200.0)' in warning[0]
    _, report, _ = inspect(tmp_path, f'model.teacher.checkpoint={teacher_checkpoint}')
    assert 'loss_reviewkd is' not in report     # the shipped weight is in range


def test_a_bounded_term_gets_a_note_not_a_weight(tmp_path, teacher_checkpoint):
    """Chen et al.'s bounded regression is zero where the student beats the teacher: its size
    is no weight to tune. With RPNKD at weight 1e-4 both its terms are far under the detection
    losses; its soft-label term is advised a weight, its bounded term is only noted."""
    from mmdet.registry import MODELS
    from mmkd.apis.inspect import loss_scale_table
    options = [*tiny_data_options(tmp_path / 'data'),
               f'model.teacher.checkpoint={teacher_checkpoint}',
               'model.distillers.1.loss_weight=0.0001']
    cfg = load_run_config(osp.join(CONFIGS, 'hint_frcnn.py'), parsed_options(options),
                          str(tmp_path / 'work'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    report = loss_scale_table(cfg, model, batches=1).markdown()
    said = {name: [line for line in report.splitlines() if f'** {name} is' in line]
            for name in ('loss_rpn_kd_cls', 'loss_rpn_kd_reg')}
    assert len(said['loss_rpn_kd_cls']) == 1 and said['loss_rpn_kd_cls'][0].startswith(
        '**WARNING**') and 'set model.distillers.1.loss_weight (now 0.0001)' in \
        said['loss_rpn_kd_cls'][0]
    assert len(said['loss_rpn_kd_reg']) == 1, report
    note = said['loss_rpn_kd_reg'][0]
    assert note.startswith('**NOTE** loss_rpn_kd_reg is'), note
    assert ('bounded term, zero where the student already beats the teacher '
            '(RPNKD.bounded_losses); its size is not a weight to tune') in note
    assert 'loss_weight' not in note
    assert [row for row in report.splitlines()
            if row.startswith('| loss_rpn_kd_reg | model.distillers.1 (RPNKD) |')
            and row.endswith(' (bounded) |')]


def test_distill_vis_hook_draws_at_each_validation(tmp_path, teacher_checkpoint):
    """The same pictures at each validation, into the work dir and the visualiser's backend."""
    config = tmp_path / 'reviewkd_with_pictures.py'
    config.write_text(f"_base_ = ['{REVIEWKD_CONFIG}']\n"
                      "custom_hooks = [dict(type='mmkd.PlainCheckpointHook'),\n"
                      "                dict(type='mmkd.DistillVisHook', num_images=1)]\n")
    work = tmp_path / 'run'
    run_tool('tools/train.py', str(config), '--work-dir', str(work), '--cfg-options',
             *tiny_data_options(tmp_path / 'data'), f'model.teacher.checkpoint={teacher_checkpoint}')
    drawn = work / 'distill_vis' / 'iter_2'     # 8 images, batch 4: validation after step 2
    assert sorted(p.name for p in drawn.iterdir()) == ['detections_0.png',
                                                       'levels_0_ReviewKD_0.png']
    backend = sorted(p.name for p in work.glob('*/vis_data/vis_image/*.png'))
    assert backend == ['detections_0_2.png', 'levels_0_ReviewKD_0_2.png']


def test_clsmapkd_config_draws_its_mined_anchors(tmp_path):
    from test_cls_map_kd import CLSKD_CONFIG, FACE_TEACHER
    teacher = save_fresh_checkpoint(FACE_TEACHER, str(tmp_path / 'face_teacher.pth'))
    out = tmp_path / 'inspect'
    report = run_tool('tools/inspect_distill.py', CLSKD_CONFIG, '--val-images', '2', '--batches',
                      '1', '--pictures', '1', '--out', str(out), '--cfg-options',
                      *tiny_data_options(tmp_path / 'data'), f'model.teacher.checkpoint={teacher}')
    assert 'backbone + neck + classification branch of the dense head' in report
    assert '| loss_cls_map_kd | model.distillers.0 (ClsMapKD) |' in report
    assert osp.getsize(out / 'mining_0_ClsMapKD_0.png') > 1000
    assert not list(out.glob('levels_*'))        # no level pairs to draw


def test_fgd_config_draws_its_levels_and_lists_its_four_terms(tmp_path, teacher_checkpoint):
    """FGD reads the ground-truth boxes from a tap on the student's loss; on the validation
    images the tool hands it their boxes, so its levels are drawn."""
    out = tmp_path / 'inspect'
    report = run_tool('tools/inspect_distill.py', osp.join(CONFIGS, 'fgd_frcnn.py'),
                      '--val-images', '2', '--batches', '1', '--pictures', '1', '--out', str(out),
                      '--cfg-options', *tiny_data_options(tmp_path / 'data'),
                      f'model.teacher.checkpoint={teacher_checkpoint}')
    for term in ('fg', 'bg', 'attention', 'global'):
        assert f'| loss_fgd_{term} | model.distillers.0 (FGD) |' in report
    assert osp.getsize(out / 'levels_0_FGD_0.png') > 1000
