"""model.init_student: the student starts from the teacher's weights of the modules named (FGD's
and MGD's authors' init_student=True: all but the backbone), after its own initialisation."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import CONFIGS, TEACHER_CONFIG, model_config
from mmkd.registry import MODELS

FGD_CONFIG = osp.join(CONFIGS, 'fgd_frcnn.py')


def fgd_model(teacher_checkpoint, student=TEACHER_CONFIG, **overrides):
    """configs/fgd_frcnn.py's model with the teacher's architecture as the student (FGD's
    authors' pairs differ in the backbone's depth only: the neck and heads match), built and
    initialised from seed 1 (the teacher's checkpoint is of seed 0)."""
    cfg = Config.fromfile(FGD_CONFIG).model
    cfg.student = model_config(student)
    cfg.teacher.checkpoint = teacher_checkpoint
    cfg.update(overrides)
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def alone(teacher_checkpoint):
    """The same model without init_student."""
    return fgd_model(teacher_checkpoint)


def weights(model, path):
    return model.get_submodule(path).state_dict()


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_true_copies_every_module_but_the_backbone(teacher_checkpoint, alone):
    model = fgd_model(teacher_checkpoint, init_student=True)
    teacher = model.teacher.detector
    assert model.init_student == ['neck', 'rpn_head', 'roi_head']
    for path in ('neck', 'rpn_head', 'roi_head'):
        assert same(weights(model.student, path), weights(teacher, path)), path
        assert not same(weights(alone.student, path), weights(teacher, path)), path
    # the backbone is the student's own initialisation, the one it has without the option
    assert same(weights(model.student, 'backbone'), weights(alone.student, 'backbone'))
    assert not same(weights(model.student, 'backbone'), weights(teacher, 'backbone'))
    # copied, not shared: the student trains, the teacher stays frozen
    assert all(p.requires_grad for p in model.student.parameters())
    assert not any(p.requires_grad for p in teacher.parameters())
    assert (model.student.neck.fpn_convs[0].conv.weight.data_ptr()
            != teacher.neck.fpn_convs[0].conv.weight.data_ptr())


def test_a_list_copies_those_modules_only(teacher_checkpoint, alone):
    model = fgd_model(teacher_checkpoint, init_student=['rpn_head', 'roi_head.bbox_head'])
    teacher = model.teacher.detector
    for path in ('rpn_head', 'roi_head.bbox_head'):
        assert same(weights(model.student, path), weights(teacher, path)), path
    for path in ('backbone', 'neck'):
        assert same(weights(model.student, path), weights(alone.student, path)), path


@pytest.mark.parametrize('config', ['fgd_frcnn.py', 'mgd_frcnn.py'])
def test_the_configs_switch_and_the_shapes_that_differ_are_named(config, teacher_checkpoint):
    """The --cfg-options each config's comment gives switch on init_student and the authors'
    clipping; on the shipped shapes pair (student FPN 32 channels, teacher 64) the build stops
    naming the keys and both shapes."""
    from test_tools_e2e import parsed_options
    comment = [line for line in open(osp.join(CONFIGS, config))
               if line.startswith('#   --cfg-options ')]
    assert len(comment) == 1
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.merge_from_dict(parsed_options(comment[0].split()[2:]))
    assert cfg.model.init_student is True
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    cfg.model.teacher.checkpoint = teacher_checkpoint
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg.model)
    message = str(err.value)
    assert message.startswith('model.init_student=True: the student cannot start from')
    assert 'neck.lateral_convs.0.conv.weight: student (32, 8, 1, 1), teacher (64, 32, 1, 1)' \
        in message
    assert 'rpn_head.rpn_conv.weight: student (32, 32, 3, 3), teacher (64, 64, 3, 3)' in message


def test_a_module_one_model_lacks_is_named(teacher_checkpoint):
    with pytest.raises(ValueError, match=r"model.init_student=\['nek'\]: .*the student has no "
                                         r"module 'nek' \(its modules: \[.*'neck'"):
        fgd_model(teacher_checkpoint, init_student=['nek'])
    with pytest.raises(ValueError, match='model.init_student=.neck.: give True'):
        fgd_model(teacher_checkpoint, init_student='neck')
