"""The full-scale recipes (configs/coco, configs/widerface), smoke-tested on CPU.

Each recipe runs as a user runs it, ``tools/train.py CONFIG``, with its own pipeline, model-zoo
teacher URL, ImageNet initialisation and COCO evaluator. Only three things change, all through
``--cfg-options``: the data root points at a mini set in the layout the recipe expects (written
here from the generated shapes and faces), the image scale is 128 px, and the schedule is one
epoch (2 iterations). Nothing is downloaded: the model-zoo teacher and the ImageNet backbones are
random weights written into torch's hub cache (``TORCH_HOME``) under the file names of their URLs,
where a real run would have downloaded them. Three kinds of recipe are only checked statically,
each against the recipe that is run (see STATIC_ONLY): the multi-scale ``*_ms-1x_coco.py``
variants, the plain ReviewKD Mask R-CNN recipe, which the ReviewKD + MaskHeadKD one contains, and
the Hungarian-matched KD recipe, the Deformable DETR KD-DETR one with another distiller.

The static checks compare each recipe with settings written here from the papers, the authors'
configs (dvlab-research/ReviewKD, ``Detection/configs``) and mmdet's model-zoo metafiles, never
read from the configs under test: the teacher and its quoted AP, the student (the mmdet config it
names, apart from the stated backbone change), the distillers, the schedule and ``auto_scale_lr``.
``tools/train.py --auto-scale-lr`` is checked up to the runner it builds.
"""
import copy
import functools
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import sys
import types
import urllib.parse

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import CONFIGS, ROOT, run_tool
from mmkd.models.teacher import load_model_config

RECIPES = sorted(glob.glob(osp.join(CONFIGS, 'coco', '*.py'))
                 + glob.glob(osp.join(CONFIGS, 'widerface', '*.py')))


@functools.lru_cache(maxsize=None)
def recipe_config(path):
    """The recipe's config, read once per session (the tests only read it)."""
    return Config.fromfile(path)


DISTILL_RECIPES = [r for r in RECIPES if recipe_config(r).model.type == 'mmkd.DistillDetector']
MMDET_CONFIGS = osp.join(osp.dirname(__import__('mmdet').__file__), '.mim', 'configs')
README = osp.join(CONFIGS, 'coco', 'README.md')
SCALE = 128
# DINO selects its 900 queries among the encoder's tokens: at 256 px its four levels have 1360
SMOKE_SCALES = {'kd-detr_dino-4scale_r50-r18_8xb2-12e_coco.py': 256}

# Multi-scale variants: each is the named 1x recipe trained at the authors' scales
MS_VARIANTS = {
    f'reviewkd_{name}_fpn_ms-1x_coco.py': f'reviewkd_{name}_fpn_1x_coco.py'
    for name in ('faster-rcnn_r101-r18', 'faster-rcnn_r101-r50', 'faster-rcnn_r50-mobilenetv2',
                 'retinanet_r101-r50', 'mask-rcnn_r101-r50')}
# the plain ReviewKD Mask R-CNN recipe is the ReviewKD + MaskHeadKD one less MaskHeadKD
MASK_PLAIN, MASK_PLUS = ('reviewkd_mask-rcnn_r101-r50_fpn_1x_coco.py',
                         'reviewkd-maskkd_mask-rcnn_r101-r50_fpn_1x_coco.py')
# checked statically against a recipe that the smoke test runs (the Hungarian-matched KD and
# DETRDistill recipes: see HUNGARIAN_PLAIN below)
STATIC_ONLY = set(MS_VARIANTS) | {MASK_PLAIN,
                                  'hungarian-kd_deformable-detr_r50-r18_16xb2-50e_coco.py',
                                  'detrdistill_deformable-detr_r50-r18_16xb2-50e_coco.py'}
SMOKE_RECIPES = [r for r in RECIPES if osp.basename(r) not in STATIC_ONLY]

# The papers' settings, written out here rather than read from the configs under test.
def reviewkd(weight):
    """ReviewKD (Chen et al., CVPR 2021) on the FPN outputs of both detectors (the authors'
    Detection/model: the student's FPN features against the teacher's), at the loss weight of
    the authors' per-setting config (KD.REVIEWKD_LOSS_WEIGHT)."""
    return ('mmkd.ReviewKD', dict(student='neck', teacher='neck', loss_weight=weight))


CROSSKD_RETINANET = 'crosskd_retinanet_r101-r50_fpn_2x_coco.py'
CHEN_2017_KD = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)
PAPER_DISTILLERS = {
    # ReviewKD-R18-R101.yaml 1.2, ReviewKD-R50-R101.yaml 1.0, ReviewKD-MV2-R50.yaml 2.0,
    # ReviewKD-RT50-RT101.yaml 1.0, ReviewKD-R50-R101-Mask.yaml 0.8
    'reviewkd_faster-rcnn_r101-r18_fpn_1x_coco.py': [reviewkd(1.2)],
    'reviewkd_faster-rcnn_r101-r50_fpn_1x_coco.py': [reviewkd(1.0)],
    'reviewkd_faster-rcnn_r50-mobilenetv2_fpn_1x_coco.py': [reviewkd(2.0)],
    'reviewkd_retinanet_r101-r50_fpn_1x_coco.py': [reviewkd(1.0)],
    MASK_PLAIN: [reviewkd(0.8)],
    MASK_PLUS: [reviewkd(0.8), ('mmkd.MaskHeadKD', dict(loss_weight=1.0))],
    # Chen et al., NeurIPS 2017: gamma 0.5 on the hint; T 1, mu 0.5, w_bg 1.5, nu 0.5, m 0
    'hintkd_faster-rcnn_r101-r50_fpn_1x_coco.py': [
        ('mmkd.FeatureHint', dict(loss_weight=0.5)), ('mmkd.RPNKD', CHEN_2017_KD),
        ('mmkd.RoIHeadKD', CHEN_2017_KD)],
    # Jin et al., ICB 2019: the reference mining rule, alpha 50
    'clsmapkd_retinanet_r50-mobilenetv2_fpn_2x_widerface.py': [
        ('mmkd.ClsMapKD', dict(mode='seed', alpha=50.0, scale=16.2, beta=6.4))],
    # Zheng et al., CVPR 2022, as mmdet's configs/ld/ld_r50-gflv1-r101_fpn_1x_coco.py: loss_ld
    # KnowledgeDistillationKLDivLoss, T 10, weight 0.25
    'ld_gfl_r101-r50_fpn_1x_coco.py': [('mmkd.LD', dict(temperature=10.0, loss_weight=0.25))],
    # Wang et al., CVPR 2024, the authors' crosskd_r50_retinanet_r101_fpn_2x_coco.py: teacher head
    # reused from conv 3, KDQualityFocalLoss beta 1 weight 1, GIoULoss weight 1
    CROSSKD_RETINANET: [('mmkd.RetinaCrossKD', dict(reused_index=3, cls_weight=1.0,
                                                    reg_weight=1.0, beta=1.0))],
}
PAPER_DISTILLERS.update({ms: PAPER_DISTILLERS[one_x] for ms, one_x in MS_VARIANTS.items()})
# KD-DETR (Wang et al., CVPR 2024; the authors' code Myleswork/KD-DETR, KDCriterion): T 10, class,
# L1 and GIoU weights 1, 5, 2; 300 general points (the paper's choice)
KD_DETR = ('mmkd.KDDETR', dict(num_general=300, temperature=10.0, cls_weight=1.0, l1_weight=5.0,
                               giou_weight=2.0))
# the Hungarian-matched KD recipe is the Deformable DETR KD-DETR recipe with DETRDistill's
# matching term (BIVLab-USTC/DETRDistill: layer by layer, weights 1, 5, 2) in place of KD-DETR
HUNGARIAN_PLAIN, HUNGARIAN_KD_DETR = ('hungarian-kd_deformable-detr_r50-r18_16xb2-50e_coco.py',
                                      'kd-detr_deformable-detr_r50-r18_16xb2-50e_coco.py')
# DETRDistill's three terms (the authors' distiller.py and config: 100 selections, weight 1; the
# teacher group at the head's own loss weights; the paper's teacher assignment)
DETRDISTILL = 'detrdistill_deformable-detr_r50-r18_16xb2-50e_coco.py'
HUNGARIAN = ('mmkd.HungarianKD', dict(layer_by_layer=True, cls_weight=1.0, l1_weight=5.0,
                                      giou_weight=2.0))
PAPER_DISTILLERS.update({
    DETRDISTILL: [HUNGARIAN,
                  ('mmkd.TargetAwareFeatureKD', dict(num_selected=100, loss_weight=1.0)),
                  ('mmkd.QueryPriorAssignmentKD', dict(assignment='teacher', loss_weight=1.0))],
    'kd-detr_dab-detr_r50-r18_8xb2-50e_coco.py': [KD_DETR],
    HUNGARIAN_KD_DETR: [KD_DETR],
    'kd-detr_dino-4scale_r50-r18_8xb2-12e_coco.py': [KD_DETR],
    HUNGARIAN_PLAIN: [HUNGARIAN],
})

# Teachers: mmdet's closest model-zoo entry to the paper's teacher (a Detectron2 3x model)
FRCNN_R101_3X = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py'
FRCNN_R50_3X = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py'
RETINANET_R101_3X = 'mmdet::retinanet/retinanet_r101_fpn_ms-640-800-3x_coco.py'
MASK_R101_3X = 'mmdet::mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco.py'
GFL_R101_2X = 'mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py'     # the teacher mmdet's LD configs load
RETINANET_R101_2X = 'mmdet::retinanet/retinanet_r101_fpn_2x_coco.py'   # CrossKD's RetinaNet teacher
FACE_TEACHER = osp.join(CONFIGS, 'widerface', 'retinanet_r50_fpn_2x_widerface.py')
# Students: mmdet's 1x configs
FRCNN_R50_1X = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
RETINANET_R50_1X = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
RETINANET_R50_2X = 'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py'
MASK_R50_1X = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
GFL_R50_1X = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'

# The backbone changes a student makes to the mmdet config it names. R18 as mmdet's
# retinanet_r18_fpn_1x_coco.py makes it (torchvision weights, 64-512 channels).
R18 = dict(backbone=dict(depth=18, init_cfg=dict(type='Pretrained',
                                                 checkpoint='torchvision://resnet18')),
           neck=dict(in_channels=[64, 128, 256, 512]))
# ReviewKD's MobileNetV2 (Detection/model/backbone/mobilenetv2.py, ReviewKD-MV2-R50.yaml): the FPN
# reads m2-m5, the last block of strides 4, 8, 16, 32 (24, 32, 96, 320 channels: mmdet's
# MobileNetV2 out indices 1, 2, 4, 6; 7 would be the 1280-channel conv2 the authors do not
# build); MOBILENETV2.NORM 'FrozenBN' (statistics and affine fixed); FREEZE_AT 0 (no conv frozen).
MV2_CHANNELS = [24, 32, 96, 320]
MV2_BACKBONE = dict(
    type='MobileNetV2', out_indices=(1, 2, 4, 6), frozen_stages=-1,
    norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2'))
MV2 = dict(backbone=dict(_replace_=MV2_BACKBONE), neck=dict(in_channels=MV2_CHANNELS))
# the face student: the face teacher's RetinaNet on that MobileNetV2, 64-channel FPN, 2-conv head
FACE_MV2 = dict(MV2, neck=dict(in_channels=MV2_CHANNELS, out_channels=64),
                bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2))
MV2_STUDENTS = [osp.join(CONFIGS, 'coco', 'students', 'faster-rcnn_mobilenetv2_fpn_1x_coco.py'),
                osp.join(CONFIGS, 'widerface', 'retinanet_mobilenetv2_fpn_2x_widerface.py')]

# recipe -> (teacher config, (the config the student is, the change it makes))
PAPER_MODELS = {
    'reviewkd_faster-rcnn_r101-r18_fpn_1x_coco.py': (FRCNN_R101_3X, (FRCNN_R50_1X, R18)),
    'reviewkd_faster-rcnn_r101-r50_fpn_1x_coco.py': (FRCNN_R101_3X, (FRCNN_R50_1X, None)),
    'reviewkd_faster-rcnn_r50-mobilenetv2_fpn_1x_coco.py': (FRCNN_R50_3X, (FRCNN_R50_1X, MV2)),
    'reviewkd_retinanet_r101-r50_fpn_1x_coco.py': (RETINANET_R101_3X, (RETINANET_R50_1X, None)),
    MASK_PLAIN: (MASK_R101_3X, (MASK_R50_1X, None)),
    MASK_PLUS: (MASK_R101_3X, (MASK_R50_1X, None)),
    'hintkd_faster-rcnn_r101-r50_fpn_1x_coco.py': (FRCNN_R101_3X, (FRCNN_R50_1X, None)),
    'ld_gfl_r101-r50_fpn_1x_coco.py': (GFL_R101_2X, (GFL_R50_1X, None)),
    CROSSKD_RETINANET: (RETINANET_R101_2X, (RETINANET_R50_2X, None)),
    'clsmapkd_retinanet_r50-mobilenetv2_fpn_2x_widerface.py': (FACE_TEACHER,
                                                               (FACE_TEACHER, FACE_MV2)),
}
PAPER_MODELS.update({ms: PAPER_MODELS[one_x] for ms, one_x in MS_VARIANTS.items()})
# KD-DETR's students: the teacher's architecture on an R18 (torchvision weights), its C5 (DAB-DETR)
# or C3-C5 (Deformable DETR, DINO) into the neck; teachers: mmdet's R50 models
DAB_R50, DEFORMABLE_R50, DINO_R50 = ('mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py',
                                     'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
                                     'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py')
R18_C5 = dict(R18, neck=dict(in_channels=[512]))
R18_C3_C5 = dict(R18, neck=dict(in_channels=[128, 256, 512]))
PAPER_MODELS.update({
    'kd-detr_dab-detr_r50-r18_8xb2-50e_coco.py': (DAB_R50, (DAB_R50, R18_C5)),
    HUNGARIAN_KD_DETR: (DEFORMABLE_R50, (DEFORMABLE_R50, R18_C3_C5)),
    'kd-detr_dino-4scale_r50-r18_8xb2-12e_coco.py': (DINO_R50, (DINO_R50, R18_C3_C5)),
    HUNGARIAN_PLAIN: (DEFORMABLE_R50, (DEFORMABLE_R50, R18_C3_C5)),
    DETRDISTILL: (DEFORMABLE_R50, (DEFORMABLE_R50, R18_C3_C5)),
})

# Schedules. ReviewKD's detection configs: 180k iterations at 8 images per step, the rate /10 at
# 120k and 160k, i.e. Detectron2's 1x (90k at 16 images, steps 60k, 80k), which is mmdet's 1x in
# epochs: 12, steps after 8 and 11. The WIDER FACE recipes use mmdet's 2x (24 epochs, 16, 22).
SCHEDULE_1X = dict(max_epochs=12, milestones=[8, 11])
SCHEDULE_2X = dict(max_epochs=24, milestones=[16, 22])
# The DETR recipes keep their student's mmdet schedule: DAB-DETR and Deformable DETR 50 epochs,
# the rate /10 after 40; DINO 12 epochs, after 11. AdamW at mmdet's rate, for mmdet's images per
# step (Deformable DETR: 16 GPUs x 2).
DETR_SCHEDULES = {
    'kd-detr_dab-detr_r50-r18_8xb2-50e_coco.py': dict(max_epochs=50, milestones=[40], lr=1e-4,
                                                      base_batch_size=16),
    HUNGARIAN_KD_DETR: dict(max_epochs=50, milestones=[40], lr=2e-4, base_batch_size=32),
    HUNGARIAN_PLAIN: dict(max_epochs=50, milestones=[40], lr=2e-4, base_batch_size=32),
    DETRDISTILL: dict(max_epochs=50, milestones=[40], lr=2e-4, base_batch_size=32),
    'kd-detr_dino-4scale_r50-r18_8xb2-12e_coco.py': dict(max_epochs=12, milestones=[11], lr=1e-4,
                                                         base_batch_size=16),
}


def paper_schedule(recipe):
    """The schedule of the paper's setting: a DETR recipe's own; mmdet's 2x for the WIDER FACE
    recipes and CrossKD's RetinaNet (the authors train it 2x); 1x otherwise."""
    two_x = 'widerface' in recipe or osp.basename(recipe) == CROSSKD_RETINANET
    return DETR_SCHEDULES.get(osp.basename(recipe), SCHEDULE_2X if two_x else SCHEDULE_1X)


# mmdet's schedules: the rate is set for 16 images per step; scaling is the user's choice
# (tools/train.py --auto-scale-lr), never on by default
AUTO_SCALE_LR = dict(enable=False, base_batch_size=16)
# ReviewKD's training scales (Base-Distillation.yaml: INPUT.MIN_SIZE_TRAIN, chosen per image;
# Detectron2's MAX_SIZE_TRAIN 1333)
AUTHORS_TRAIN_SCALES = [(1333, short) for short in (640, 672, 704, 736, 768, 800)]
# what the smoke run must log for each distiller
DISTILL_LOSSES = {'mmkd.ReviewKD': 'loss_reviewkd', 'mmkd.MaskHeadKD': 'loss_mask_kd',
                  'mmkd.FeatureHint': 'loss_hint', 'mmkd.RPNKD': 'loss_rpn_kd_cls',
                  'mmkd.RoIHeadKD': 'loss_rcnn_kd_cls', 'mmkd.ClsMapKD': 'loss_cls_map_kd',
                  'mmkd.KDDETR': 'loss_kddetr_general_cls',
                  'mmkd.HungarianKD': 'loss_hungarian_kd_cls', 'mmkd.LD': 'loss_ld',
                  'mmkd.RetinaCrossKD': 'loss_crosskd_cls'}


def recipe_id(path):
    return osp.relpath(path, CONFIGS)


@functools.lru_cache()
def metafiles():
    """Over every metafile.yml mmdet ships: {checkpoint URL: 'mmdet::<folder>/<config>.py'} and
    {'mmdet::<folder>/<config>.py': {'box AP': .., 'mask AP': ..}} (COCO)."""
    weights, metrics = {}, {}
    for metafile in glob.glob(osp.join(MMDET_CONFIGS, '*', 'metafile.yml')):
        with open(metafile) as f:
            content = yaml.safe_load(f)
        models = content.get('Models', []) if isinstance(content, dict) else []
        for model in models:
            config = 'mmdet::' + model['Config'][len('configs/'):]
            urls = model.get('Weights') or []
            for url in [urls] if isinstance(urls, str) else urls:
                weights[url] = config
            for result in model.get('Results') or []:
                if result.get('Dataset') == 'COCO':
                    metrics.setdefault(config, {}).update(result.get('Metrics') or {})
    return weights, metrics


def metafile_weights():
    return metafiles()[0]


def hub_file(url):
    return osp.join('hub', 'checkpoints', osp.basename(urllib.parse.urlparse(url).path))


def test_every_distilling_recipe_has_its_published_setting_here():
    assert sorted(map(osp.basename, DISTILL_RECIPES)) == sorted(PAPER_DISTILLERS)
    assert sorted(PAPER_MODELS) == sorted(PAPER_DISTILLERS)
    assert STATIC_ONLY <= set(map(osp.basename, RECIPES))
    # the rest: the face recipe's teacher and student, trained alone
    assert sorted(map(recipe_id, set(RECIPES) - set(DISTILL_RECIPES))) == [
        'widerface/retinanet_mobilenetv2_fpn_2x_widerface.py',
        'widerface/retinanet_r50_fpn_2x_widerface.py']


@pytest.mark.parametrize('recipe', DISTILL_RECIPES, ids=recipe_id)
def test_recipe_teachers_are_mmdet_model_zoo_entries_and_weights_are_the_papers(recipe):
    cfg = recipe_config(recipe)
    name = osp.basename(recipe)
    got = [(d['type'], {k: d.get(k) for k in expected})
           for d, (_, expected) in zip(cfg.model.distillers, PAPER_DISTILLERS[name])]
    assert got == PAPER_DISTILLERS[name]
    assert len(cfg.model.distillers) == len(PAPER_DISTILLERS[name])
    teacher = cfg.model.teacher
    expected_teacher = PAPER_MODELS[name][0]
    if expected_teacher.startswith('mmdet::'):
        assert teacher.config == expected_teacher
    else:   # a teacher trained by its own recipe, named by path from the recipe's folder
        assert osp.normpath(teacher.config.replace('{{fileDirname}}', osp.dirname(recipe))) \
            == osp.normpath(expected_teacher)
    if teacher.checkpoint.startswith('https://'):
        zoo = metafile_weights()
        assert teacher.checkpoint in zoo, f'{teacher.checkpoint} is in no mmdet metafile.yml'
        assert zoo[teacher.checkpoint] == teacher.config
    else:
        assert 'widerface' in recipe, 'COCO recipes take their teacher from the model zoo'
    # the student's own schedule at 2 images per GPU; mmdet trains RetinaNet and GFL at lr
    # 0.01, two-stage detectors at 0.02, its DETRs at their AdamW rates
    assert cfg.train_dataloader.batch_size == 2
    if name in DETR_SCHEDULES:
        assert cfg.train_cfg.max_epochs == DETR_SCHEDULES[name]['max_epochs']
        assert cfg.optim_wrapper.optimizer.lr == DETR_SCHEDULES[name]['lr']
        return
    assert cfg.train_cfg.max_epochs == paper_schedule(recipe)['max_epochs']
    one_stage = 'retinanet' in name or '_gfl_' in name
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if one_stage else 0.02)


@functools.lru_cache(maxsize=None)
def source_model(config):
    """The model section of an mmdet (or recipe) config, as plain python; read once."""
    return plain(load_model_config(config, 'student'))


def merged(base, update):
    """``base`` with ``update`` merged in, dicts recursively (lists and values replaced)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else copy.deepcopy(value)
    return out


def plain(node):
    """A config node as plain python: dicts, lists (tuples as lists), values."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [plain(v) for v in node]
    return node


@pytest.mark.parametrize('recipe', DISTILL_RECIPES, ids=recipe_id)
def test_recipe_student_is_the_mmdet_config_it_names_but_for_the_stated_backbone(recipe):
    """model.student is the named config's model with only the stated change (R18, ReviewKD's
    MobileNetV2, ...): an unstated change to the student (a frozen backbone, another neck, ...)
    fails here."""
    _, (source, change) = PAPER_MODELS[osp.basename(recipe)]
    expected = copy.deepcopy(source_model(source))
    for key, value in (change or {}).items():
        expected[key] = plain(value['_replace_']) if '_replace_' in value else merged(
            expected[key], plain(value))
    student = plain(recipe_config(recipe).model.student)
    # the registry scope mmengine marks a model read from mmdet's configs with, not a setting
    assert student.pop('_scope_', 'mmdet') == expected.pop('_scope_', 'mmdet') == 'mmdet'
    assert student == expected


@pytest.mark.parametrize('recipe', RECIPES, ids=recipe_id)
def test_recipe_schedule_is_the_papers_and_lr_scaling_is_off_by_default(recipe):
    cfg = recipe_config(recipe)
    schedule = paper_schedule(recipe)
    assert cfg.train_cfg.max_epochs == schedule['max_epochs']
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(steps) == 1 and steps[0].get('by_epoch', True)
    assert list(steps[0].milestones) == schedule['milestones'] and steps[0].gamma == 0.1
    assert steps[0].end >= schedule['max_epochs']
    assert plain(cfg.auto_scale_lr) == dict(
        AUTO_SCALE_LR, base_batch_size=schedule.get('base_batch_size', 16))


def readme_table():
    """{config: (teacher cell, student cell)} from the recipes table of configs/coco/README.md."""
    rows = {}
    with open(README) as f:
        for line in f:
            match = re.match(r'\| `([\w.-]+\.py)` \| ([^|]+) \| ([^|]+) \|', line)
            if match:
                rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


COCO_DISTILL_RECIPES = [r for r in DISTILL_RECIPES if osp.basename(osp.dirname(r)) == 'coco']


@pytest.mark.parametrize('recipe', COCO_DISTILL_RECIPES, ids=recipe_id)
def test_readme_quotes_each_teachers_and_students_metafile_ap(recipe):
    """configs/coco/README.md has a row for the recipe; the teacher's AP it quotes (box, and mask
    for Mask R-CNN) is the one mmdet's metafile gives for the paper's teacher config, and so is
    a student's "(x in mmdet)"."""
    name = osp.basename(recipe)
    rows = readme_table()
    assert name in rows, f'configs/coco/README.md has no row for {name}'
    teacher_cell, student_cell = rows[name]
    teacher, (student, _) = PAPER_MODELS[name]
    metrics = metafiles()[1]
    quoted = re.search(r'\(([\d.]+)(?: box, ([\d.]+) mask)?\)', teacher_cell)
    assert quoted, teacher_cell
    assert float(quoted.group(1)) == metrics[teacher]['box AP']
    if 'mask' in name:
        assert quoted.group(2) and float(quoted.group(2)) == metrics[teacher]['mask AP']
    in_mmdet = re.search(r'\(([\d.]+)(?: / ([\d.]+))? in mmdet\)', student_cell)
    if in_mmdet:
        assert float(in_mmdet.group(1)) == metrics[student]['box AP']
        if in_mmdet.group(2):
            assert float(in_mmdet.group(2)) == metrics[student]['mask AP']


def test_readme_cites_nothing_outside_the_repository():
    with open(README) as f:
        text = f.read()
    assert '../shared' not in text and 'METHODS.md' not in text


@pytest.mark.parametrize('config', MV2_STUDENTS, ids=recipe_id)
def test_mobilenetv2_student_feeds_the_fpn_reviewkds_layers_with_frozen_batchnorm(config):
    """Built, the MobileNetV2 student hands the FPN the 24, 32, 96, 320-channel features of
    strides 4-32; its BatchNorm stays in eval mode with fixed affine (Detectron2's FrozenBN) while
    every convolution trains (FREEZE_AT 0); conv2, which nothing reads, is what
    find_unused_parameters is there for."""
    from mmdet.registry import MODELS
    from torch.nn.modules.batchnorm import _BatchNorm
    cfg = recipe_config(config)
    backbone, neck = MODELS.build(cfg.model.backbone), MODELS.build(cfg.model.neck)
    backbone.train()
    norms = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    convs = [m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)]
    assert norms and not any(m.training for m in norms)
    assert not any(p.requires_grad for m in norms for p in m.parameters())
    assert all(p.requires_grad for m in convs for p in m.parameters())
    stats = [m.running_mean.clone() for m in norms]
    features = backbone(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in features] == MV2_CHANNELS == list(cfg.model.neck.in_channels)
    assert [64 // f.shape[-1] for f in features] == [4, 8, 16, 32]
    assert all(torch.equal(m.running_mean, s) for m, s in zip(norms, stats))
    sum(out.sum() for out in neck(features)).backward()
    unread = {name.split('.')[0] for name, p in backbone.named_parameters()
              if p.requires_grad and p.grad is None}
    assert unread == {'conv2'} and cfg.find_unused_parameters is True


@pytest.mark.parametrize('ms_recipe', sorted(MS_VARIANTS), ids=str)
def test_ms_recipe_is_its_1x_recipe_trained_at_the_authors_scales(ms_recipe, mini_sets):
    """The *_ms-1x_coco.py recipe is its 1x recipe but for the train pipeline's resize: one of the
    authors' six short sides per image (640-800, longer side at most 1333). Its pipeline, run on a
    mini-set image, gives a short side among them."""
    from mmdet.registry import DATASETS
    ms_cfg = recipe_config(osp.join(CONFIGS, 'coco', ms_recipe))
    one_x = recipe_config(osp.join(CONFIGS, 'coco', MS_VARIANTS[ms_recipe]))
    for key in ('model', 'train_cfg', 'val_cfg', 'test_cfg', 'optim_wrapper', 'param_scheduler',
                'auto_scale_lr', 'val_dataloader', 'test_dataloader', 'val_evaluator',
                'test_evaluator', 'default_hooks', 'custom_hooks', 'find_unused_parameters'):
        assert plain(ms_cfg.get(key)) == plain(one_x.get(key)), key
    ms_train, train = plain(ms_cfg.train_dataloader), plain(one_x.train_dataloader)
    resize = [i for i, step in enumerate(train['dataset']['pipeline']) if step['type'] == 'Resize']
    assert len(resize) == 1
    train['dataset']['pipeline'][resize[0]] = dict(
        type='RandomChoiceResize', scales=plain(AUTHORS_TRAIN_SCALES), keep_ratio=True)
    assert ms_train == train

    init_default_scope('mmdet')
    dataset = copy.deepcopy(ms_cfg.train_dataloader.dataset)
    dataset.data_root = f'{mini_sets["coco"]}/'
    sample = DATASETS.build(dataset)[0]
    height, width = sample['inputs'].shape[-2:]
    assert min(height, width) in {short for _, short in AUTHORS_TRAIN_SCALES}
    assert max(height, width) <= 1333


@pytest.mark.parametrize('recipe', [HUNGARIAN_PLAIN, DETRDISTILL])
def test_detrdistill_recipes_are_the_smoke_tested_kd_detr_one_with_other_distillers(recipe):
    """Only the Deformable DETR KD-DETR recipe runs in the smoke test; the Hungarian-matched KD
    and DETRDistill recipes differ from it in their distillers alone."""
    detrdistill = plain(recipe_config(osp.join(CONFIGS, 'coco', recipe))._cfg_dict)
    kd_detr = plain(recipe_config(osp.join(CONFIGS, 'coco', HUNGARIAN_KD_DETR))._cfg_dict)
    assert [d['type'] for d in detrdistill['model'].pop('distillers')] == [
        name for name, _ in PAPER_DISTILLERS[recipe]]
    assert [d['type'] for d in kd_detr['model'].pop('distillers')] == ['mmkd.KDDETR']
    assert detrdistill == kd_detr


def test_plain_reviewkd_mask_recipe_is_the_smoke_tested_one_less_mask_head_kd():
    """Only ReviewKD + MaskHeadKD runs in the smoke test; the plain recipe differs from it in the
    MaskHeadKD distiller alone."""
    plain_cfg = plain(recipe_config(osp.join(CONFIGS, 'coco', MASK_PLAIN))._cfg_dict)
    plus_cfg = plain(recipe_config(osp.join(CONFIGS, 'coco', MASK_PLUS))._cfg_dict)
    plus_distillers = plus_cfg['model'].pop('distillers')
    assert plus_distillers[:-1] == plain_cfg['model'].pop('distillers')
    assert plus_distillers[-1]['type'] == 'mmkd.MaskHeadKD'
    assert plain_cfg == plus_cfg


def load_train_tool():
    spec = importlib.util.spec_from_file_location('mmkd_tools_train',
                                                  osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_auto_scale_lr_flag_reaches_the_runner_and_scales_the_rate(tmp_path, monkeypatch):
    """tools/train.py --auto-scale-lr (mmdet 3.3's flag) turns on the config's auto_scale_lr in
    what the runner is built from; mmengine then scales the rate by the images per step over
    base_batch_size: 16 GPUs x 2 images at base 16 doubles 0.02. A config without
    auto_scale_lr.base_batch_size is refused."""
    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner
    train = load_train_tool()
    built = []

    class RecordingRunner(Runner):    # takes the arguments from_cfg builds a runner with
        def __init__(self, **kwargs):
            built.append(kwargs)

        def train(self):
            pass

    monkeypatch.setattr(train, 'Runner', RecordingRunner)
    monkeypatch.setattr(train, 'check_dataset_files', lambda *args, **kwargs: None)
    recipe = osp.join(CONFIGS, 'coco', 'reviewkd_faster-rcnn_r101-r18_fpn_1x_coco.py')

    def run(*args):
        monkeypatch.setattr(sys, 'argv', ['tools/train.py', *args, '--work-dir', str(tmp_path)])
        train.main()
        return built[-1]

    assert plain(run(recipe)['auto_scale_lr']) == dict(enable=False, base_batch_size=16)
    runner_args = run(recipe, '--auto-scale-lr')
    assert plain(runner_args['auto_scale_lr']) == dict(enable=True, base_batch_size=16)

    optim = OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                         lr=runner_args['optim_wrapper']['optimizer']['lr']))
    sixteen_gpus = types.SimpleNamespace(
        world_size=16, _train_dataloader=runner_args['train_dataloader'], param_schedulers=None,
        logger=MMLogger.get_current_instance())
    Runner.scale_lr(sixteen_gpus, optim, runner_args['auto_scale_lr'])
    assert optim.optimizer.param_groups[0]['lr'] == pytest.approx(0.02 * 16 * 2 / 16)

    no_base = tmp_path / 'no_base_batch_size.py'
    no_base.write_text(f'_base_ = [{recipe!r}]\n'
                       'auto_scale_lr = dict(_delete_=True, enable=False)\n')
    with pytest.raises(RuntimeError, match='base_batch_size'):
        run(str(no_base), '--auto-scale-lr')


def write_coco_mini(root):
    """The shapes set in COCO's layout: train2017/, val2017/ and
    annotations/instances_{train,val}2017.json, with COCO's 80 categories (the shapes labelled
    as the first 8)."""
    from mmdet.datasets import CocoDataset
    from mmkd.datasets import shapes
    for split, count in (('train2017', 4), ('val2017', 2)):
        ann_file = shapes.write_split(str(root), split, count)
        with open(ann_file) as f:
            coco = json.load(f)
        for image in coco['images']:
            image['file_name'] = osp.basename(image['file_name'])
        coco['categories'] = [dict(id=i + 1, name=name)
                              for i, name in enumerate(CocoDataset.METAINFO['classes'])]
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)
    return root


def write_wider_mini(root):
    """The face set in WIDER FACE's layout (WIDER_{train,val}/images/<event>/,
    wider_face_split/wider_face_{train,val}_bbx_gt.txt), converted by mmkd's converter."""
    from mmkd.datasets import faces
    from mmkd.datasets.face_converters import wider_face_to_coco
    os.makedirs(osp.join(root, 'wider_face_split'))
    for split, count in (('train', 4), ('val', 2)):
        generated = osp.join(root, 'generated')
        with open(faces.write_split(generated, split, count)) as f:
            coco = json.load(f)
        image_root = osp.join(root, f'WIDER_{split}', 'images')
        os.makedirs(osp.join(image_root, '0--Parade'))
        lines = []
        for image in coco['images']:
            name = f'0--Parade/0_Parade_{image["id"]}.png'
            shutil.copy(osp.join(generated, image['file_name']), osp.join(image_root, name))
            boxes = [a['bbox'] for a in coco['annotations'] if a['image_id'] == image['id']]
            lines += [name, str(len(boxes))] + [
                ' '.join(str(round(v)) for v in box) + ' 0 0 0 0 0 0' for box in boxes]
        gt_txt = osp.join(root, 'wider_face_split', f'wider_face_{split}_bbx_gt.txt')
        with open(gt_txt, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        # what `python -m mmkd.datasets.face_converters wider GT_TXT IMAGES OUT` runs, in this
        # process (a subprocess per split cost seconds of imports)
        wider_face_to_coco(gt_txt, image_root,
                           osp.join(root, 'annotations', f'wider_face_{split}.json'))
    return root


def save_random_weights(cfg_model, path):
    """The model at its own initialisation (``init_weights``; a DETR left at PyTorch's default
    one can answer NaN), its backbone's pretrained weights left out, saved as a checkpoint."""
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg_model = copy.deepcopy(cfg_model)
    cfg_model.backbone.init_cfg = None
    model = MODELS.build(cfg_model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=36)), path)


@pytest.fixture(scope='module')
def torch_home(tmp_path_factory):
    """A torch hub cache holding, under their URLs' file names, random weights for every
    model-zoo teacher of the recipes and the ImageNet backbones their students start from."""
    from mmdet.models.backbones import MobileNetV2, ResNet
    from mmengine.runner.checkpoint import get_external_models
    from mmkd.utils.pretrained import TORCHVISION_URL_TABLE
    home = tmp_path_factory.mktemp('torch_home')
    os.makedirs(home / 'hub' / 'checkpoints')
    with open(TORCHVISION_URL_TABLE) as f:
        torchvision_urls = json.load(f)
    for depth in (18, 50, 101):
        torch.save(ResNet(depth).state_dict(), home / hub_file(torchvision_urls[f'resnet{depth}']))
    torch.save(dict(state_dict=MobileNetV2().state_dict()),
               home / hub_file(get_external_models()['mmdet/mobilenet_v2']))
    teachers = {}
    for recipe in RECIPES:
        teacher = recipe_config(recipe).model.get('teacher')
        if teacher and teacher.checkpoint.startswith('https://'):
            teachers[teacher.checkpoint] = teacher.config
    for url, config in teachers.items():
        save_random_weights(load_model_config(config), str(home / hub_file(url)))
    return home


@pytest.fixture(scope='module')
def mini_sets(tmp_path_factory):
    return dict(coco=write_coco_mini(tmp_path_factory.mktemp('coco')),
                widerface=write_wider_mini(tmp_path_factory.mktemp('WIDERFace')))


def score_threshold_keys(node, prefix='model'):
    """The dotted keys of every ``score_thr`` under ``node`` (a config dict)."""
    for key, value in node.items():
        if key == 'score_thr':
            yield f'{prefix}.{key}'
        elif isinstance(value, dict):
            yield from score_threshold_keys(value, f'{prefix}.{key}')


def smoke_options(cfg, data_root, scale=SCALE):
    """--cfg-options: the data root, ``scale`` px images, one epoch; and a score threshold of 0,
    as random weights score under the recipes' 0.05 and would leave COCO evaluation nothing."""
    options = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    options += [f'{key}=0.0' for key in score_threshold_keys(cfg.model)
                if '.teacher.' not in key]
    for split in ('train', 'val', 'test'):
        dataset = f'{split}_dataloader.dataset'
        options.append(f'{dataset}.data_root={data_root}/')
        for i, step in enumerate(cfg[f'{split}_dataloader'].dataset.pipeline):
            if step.type == 'Resize':
                options.append(f'{dataset}.pipeline.{i}.scale=({scale},{scale})')
            elif step.type == 'RandomResize':   # a range of scales
                options.append(f'{dataset}.pipeline.{i}.scale=[({scale},{scale}),({scale},{scale})]')
            elif step.type == 'RandomChoice':   # mmdet's DETR augmentation: branches of steps
                options += [f'{dataset}.pipeline.{i}.transforms.{j}.{k}.scales=[({scale},{scale})]'
                            for j, branch in enumerate(step.transforms)
                            for k, inner in enumerate(branch)
                            if inner.type == 'RandomChoiceResize']
    ann_file = cfg.val_evaluator.ann_file.split('/')[-1]
    options += [f'{split}_evaluator.ann_file={data_root}/annotations/{ann_file}'
                for split in ('val', 'test')]
    return options


@pytest.mark.parametrize('recipe', SMOKE_RECIPES, ids=recipe_id)
def test_recipe_trains_two_iterations_and_evaluates_on_a_mini_set(recipe, tmp_path, torch_home,
                                                                  mini_sets):
    cfg = recipe_config(recipe)
    data_root = mini_sets['widerface' if 'widerface' in recipe else 'coco']
    options = smoke_options(cfg, data_root, SMOKE_SCALES.get(osp.basename(recipe), SCALE))
    distilled = cfg.model.type == 'mmkd.DistillDetector'
    if distilled and not cfg.model.teacher.checkpoint.startswith('https://'):
        # the face teacher is trained by its own recipe: a random one in its place
        checkpoint = str(tmp_path / 'face_teacher.pth')
        save_random_weights(load_model_config(cfg.model.teacher.config), checkpoint)
        options.append(f'model.teacher.checkpoint={checkpoint}')
    log = run_tool('tools/train.py', recipe, '--work-dir', str(tmp_path / 'run'),
                   '--cfg-options', *options, env_extra=dict(TORCH_HOME=str(torch_home)))

    assert re.search(r'Epoch\(train\) \[1\]\[2/2\]', log), log[-3000:]
    assert 'coco/bbox_mAP' in log
    if 'mask' in osp.basename(recipe):
        assert 'coco/segm_mAP' in log
    student_init = (cfg.model.student if distilled else cfg.model).backbone.init_cfg.checkpoint
    assert f'load model from: {student_init}' in log       # the ImageNet start, from the cache
    if distilled:
        assert re.search(r'teacher: loaded \S+', log)
        for distiller in cfg.model.distillers:
            assert re.search(rf'\b{DISTILL_LOSSES[distiller.type]}: \d', log), distiller.type
