"""tools/chain.py: each stage's student, exported, is the next stage's teacher."""
import os.path as osp
import re

import torch

from conftest import CONFIGS, run_tool
from test_tools_e2e import tiny_data_options

TA_STAGES = [osp.join(CONFIGS, 'ta_chain', name) for name in
             ('pkd_teacher_to_assistant_shapes.py', 'pkd_assistant_to_student_shapes.py')]


def test_a_teacher_assistant_chain_passes_each_student_on(tmp_path, teacher_checkpoint):
    work = tmp_path / 'chain'
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={teacher_checkpoint}']
    log = run_tool('tools/chain.py', *TA_STAGES, '--work-dir', str(work),
                   '--cfg-options', *options)
    assistant = work / 'stage1_pkd_teacher_to_assistant_shapes' / 'student'
    # stage 1 read the given teacher, stage 2 the assistant stage 1 trained
    loaded = re.findall(r'teacher: loaded (\S+)', log)
    assert loaded[0] == str(teacher_checkpoint)
    assert loaded[-1] == str(assistant / 'student.pth')
    weights = torch.load(assistant / 'student.pth', weights_only=True)['state_dict']
    assert weights['neck.fpn_convs.0.conv.weight'].shape[0] == 48     # the assistant's width
    student = work / 'stage2_pkd_assistant_to_student_shapes' / 'student' / 'student.pth'
    weights = torch.load(student, weights_only=True)['state_dict']
    assert weights['neck.fpn_convs.0.conv.weight'].shape[0] == 32     # the student's
    table = (work / 'chain.md').read_text().splitlines()
    assert len(table) == 4 and table[2].startswith('| 1 |') and table[3].startswith('| 2 |')


def test_born_again_student_has_the_teachers_architecture_and_learns_its_outputs(
        teacher_checkpoint):
    from mmengine.config import Config

    from mmkd.registry import MODELS
    from test_distill_detector import fake_batch
    cfg = Config.fromfile(osp.join(CONFIGS, 'born_again_frcnn.py')).model
    cfg.teacher.checkpoint = teacher_checkpoint
    model = MODELS.build(cfg)
    student_shapes = {k: v.shape for k, v in model.student.state_dict().items()}
    assert student_shapes == {k: v.shape for k, v in model.teacher.detector.state_dict().items()}
    losses = model.loss(*fake_batch(size=128))
    kd = sum(value for name, value in losses.items()
             if name.startswith(('loss_rpn_kd', 'loss_rcnn_kd', 'loss_kd')))
    assert kd.requires_grad and kd > 0, sorted(losses)
