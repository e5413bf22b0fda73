"""The full-scale recipes (configs/coco, configs/widerface), smoke-tested on CPU.

Each recipe runs as a user runs it, ``tools/train.py CONFIG``, with its own pipeline, model-zoo
teacher URL, ImageNet initialisation and COCO evaluator. Only three things change, all through
``--cfg-options``: the data root points at a mini set in the layout the recipe expects (written
here from the generated shapes and faces), the image scale is 128 px, and the schedule is one
epoch (2 iterations). Nothing is downloaded: the model-zoo teacher and the ImageNet backbones are
random weights written into torch's hub cache (``TORCH_HOME``) under the file names of their URLs,
where a real run would have downloaded them.
"""
import functools
import glob
import json
import os
import os.path as osp
import re
import shutil
import urllib.parse

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import CONFIGS, run_tool
from mmkd.models.teacher import load_model_config

RECIPES = sorted(glob.glob(osp.join(CONFIGS, 'coco', '*.py'))
                 + glob.glob(osp.join(CONFIGS, 'widerface', '*.py')))
DISTILL_RECIPES = [r for r in RECIPES
                   if Config.fromfile(r).model.type == 'mmkd.DistillDetector']
MMDET_CONFIGS = osp.join(osp.dirname(__import__('mmdet').__file__), '.mim', 'configs')
SCALE = 128

# The papers' settings, written out here rather than read from the configs under test.
CHEN_2017_KD = dict(temperature=1.0, mu=0.5, bg_weight=1.5, nu=0.5, margin=0.0)
PAPER_DISTILLERS = {
    # ReviewKD (Chen et al., CVPR 2021), detection loss weights of the reference code
    'reviewkd_faster-rcnn_r101-r18_fpn_1x_coco.py': [('mmkd.ReviewKD', dict(loss_weight=1.2))],
    'reviewkd_faster-rcnn_r101-r50_fpn_1x_coco.py': [('mmkd.ReviewKD', dict(loss_weight=1.0))],
    'reviewkd_faster-rcnn_r50-mobilenetv2_fpn_1x_coco.py': [
        ('mmkd.ReviewKD', dict(loss_weight=2.0))],
    'reviewkd_retinanet_r101-r50_fpn_1x_coco.py': [('mmkd.ReviewKD', dict(loss_weight=1.0))],
    'reviewkd-maskkd_mask-rcnn_r101-r50_fpn_1x_coco.py': [
        ('mmkd.ReviewKD', dict(loss_weight=0.8)), ('mmkd.MaskHeadKD', dict(loss_weight=1.0))],
    # Chen et al., NeurIPS 2017: gamma 0.5 on the hint; T 1, mu 0.5, w_bg 1.5, nu 0.5, m 0
    'hintkd_faster-rcnn_r101-r50_fpn_1x_coco.py': [
        ('mmkd.FeatureHint', dict(loss_weight=0.5)), ('mmkd.RPNKD', CHEN_2017_KD),
        ('mmkd.RoIHeadKD', CHEN_2017_KD)],
    # Jin et al., ICB 2019: the reference mining rule, alpha 50
    'clsmapkd_retinanet_r50-mobilenetv2_fpn_2x_widerface.py': [
        ('mmkd.ClsMapKD', dict(mode='seed', alpha=50.0, scale=16.2, beta=6.4))],
}
# what the smoke run must log for each distiller
DISTILL_LOSSES = {'mmkd.ReviewKD': 'loss_reviewkd', 'mmkd.MaskHeadKD': 'loss_mask_kd',
                  'mmkd.FeatureHint': 'loss_hint', 'mmkd.RPNKD': 'loss_rpn_kd_cls',
                  'mmkd.RoIHeadKD': 'loss_rcnn_kd_cls', 'mmkd.ClsMapKD': 'loss_cls_map_kd'}


def recipe_id(path):
    return osp.relpath(path, CONFIGS)


@functools.lru_cache()
def metafile_weights():
    """{checkpoint URL: 'mmdet::<folder>/<config>.py'} over every metafile.yml mmdet ships."""
    weights = {}
    for metafile in glob.glob(osp.join(MMDET_CONFIGS, '*', 'metafile.yml')):
        with open(metafile) as f:
            content = yaml.safe_load(f)
        models = content.get('Models', []) if isinstance(content, dict) else []
        for model in models:
            urls = model.get('Weights') or []
            for url in [urls] if isinstance(urls, str) else urls:
                weights[url] = 'mmdet::' + model['Config'][len('configs/'):]
    return weights


def hub_file(url):
    return osp.join('hub', 'checkpoints', osp.basename(urllib.parse.urlparse(url).path))


def test_every_distilling_recipe_has_its_published_setting_here():
    assert sorted(map(osp.basename, DISTILL_RECIPES)) == sorted(PAPER_DISTILLERS)
    # the rest: the face recipe's teacher and student, trained alone
    assert sorted(map(recipe_id, set(RECIPES) - set(DISTILL_RECIPES))) == [
        'widerface/retinanet_mobilenetv2_fpn_2x_widerface.py',
        'widerface/retinanet_r50_fpn_2x_widerface.py']


@pytest.mark.parametrize('recipe', DISTILL_RECIPES, ids=recipe_id)
def test_recipe_teachers_are_mmdet_model_zoo_entries_and_weights_are_the_papers(recipe):
    cfg = Config.fromfile(recipe)
    name = osp.basename(recipe)
    got = [(d['type'], {k: d.get(k) for k in expected})
           for d, (_, expected) in zip(cfg.model.distillers, PAPER_DISTILLERS[name])]
    assert got == PAPER_DISTILLERS[name]
    assert len(cfg.model.distillers) == len(PAPER_DISTILLERS[name])
    teacher = cfg.model.teacher
    if teacher.checkpoint.startswith('https://'):
        zoo = metafile_weights()
        assert teacher.checkpoint in zoo, f'{teacher.checkpoint} is in no mmdet metafile.yml'
        assert zoo[teacher.checkpoint] == teacher.config
    else:
        assert 'widerface' in recipe, 'COCO recipes take their teacher from the model zoo'
    # the student's own 1x / 2x schedule at 16 images per step (8 GPUs x 2); mmdet trains
    # RetinaNet at lr 0.01, two-stage detectors at 0.02
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_cfg.max_epochs == (24 if 'widerface' in recipe else 12)
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if 'retinanet' in name else 0.02)


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
        run_tool('-m', 'mmkd.datasets.face_converters', 'wider', gt_txt, image_root,
                 osp.join(root, 'annotations', f'wider_face_{split}.json'))
    return root


def save_random_weights(cfg_model, path):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    model = MODELS.build(cfg_model)
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
        teacher = Config.fromfile(recipe).model.get('teacher')
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


def smoke_options(cfg, data_root):
    """--cfg-options: the data root, 128 px images, one epoch; and a score threshold of 0, as
    random weights score under the recipes' 0.05 and would leave COCO evaluation nothing."""
    options = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
    options += [f'{key}=0.0' for key in score_threshold_keys(cfg.model)
                if '.teacher.' not in key]
    for split in ('train', 'val', 'test'):
        dataset = f'{split}_dataloader.dataset'
        options.append(f'{dataset}.data_root={data_root}/')
        for i, step in enumerate(cfg[f'{split}_dataloader'].dataset.pipeline):
            if step.type == 'Resize':
                options.append(f'{dataset}.pipeline.{i}.scale=({SCALE},{SCALE})')
            elif step.type == 'RandomResize':   # a range of scales
                options.append(f'{dataset}.pipeline.{i}.scale=[({SCALE},{SCALE}),({SCALE},{SCALE})]')
    ann_file = cfg.val_evaluator.ann_file.split('/')[-1]
    options += [f'{split}_evaluator.ann_file={data_root}/annotations/{ann_file}'
                for split in ('val', 'test')]
    return options


@pytest.mark.parametrize('recipe', RECIPES, ids=recipe_id)
def test_recipe_trains_two_iterations_and_evaluates_on_a_mini_set(recipe, tmp_path, torch_home,
                                                                  mini_sets):
    cfg = Config.fromfile(recipe)
    data_root = mini_sets['widerface' if 'widerface' in recipe else 'coco']
    options = smoke_options(cfg, data_root)
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
