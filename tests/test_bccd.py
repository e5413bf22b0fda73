"""Real data: the BCCD configs distil an ImageNet-pretrained MobileNetV2 student on BCCD, which
they, the tools and the tests find in the data root ($MMKD_DATA_ROOT, default ../shared/data)."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

from mmengine.config import Config

from conftest import CONFIGS, ROOT, real_data, run_tool, save_fresh_checkpoint
from mmkd.datasets.real_data import DATA_ROOT_ENV, real_data_path
from mmkd.utils import load_run_config

BCCD_CONFIGS = ('frcnn_mv2_teacher_bccd.py', 'frcnn_mv2_student_bccd.py',
                'hint_frcnn_mv2_bccd.py', 'reviewkd_frcnn_mv2_bccd.py', 'cwd_frcnn_mv2_bccd.py',
                'cwd_w1_frcnn_mv2_bccd.py', 'pkd_frcnn_mv2_bccd.py', 'mgd_frcnn_mv2_bccd.py',
                'fgd_frcnn_mv2_bccd.py', 'pkd_reviewkd_frcnn_mv2_bccd.py',
                'pkd_outputs_frcnn_mv2_bccd.py', 'pkd_cwd_outputs_frcnn_mv2_bccd.py',
                'pkd_outputs_w2_frcnn_mv2_bccd.py', 'pkd_outputs_w4_frcnn_mv2_bccd.py',
                'pkd_roi_crosskd_frcnn_mv2_bccd.py',
                'gfl_mv2_teacher_bccd.py',
                'gfl_mv2_student_bccd.py', 'crosskd_gfl_mv2_bccd.py', 'ld_gfl_mv2_bccd.py',
                'crosskd_pkd_gfl_mv2_bccd.py')
SPLITS = ('train', 'val', 'test')
ONE_IMAGE_VOC = """<annotation><filename>a.jpg</filename>
<size><width>640</width><height>480</height><depth>3</depth></size>
<object><name>RBC</name><difficult>0</difficult>
  <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>111</xmax><ymax>121</ymax></bndbox></object>
</annotation>"""


def voc_roots(cfg):
    return [cfg[f'{split}_dataloader'].dataset.data_prefix.img for split in SPLITS]


def test_hint_kd_trains_and_validates_on_bccd(tmp_path):
    bccd = real_data('bccd')
    teacher = save_fresh_checkpoint(osp.join(CONFIGS, 'frcnn_mv2_teacher_bccd.py'),
                                    str(tmp_path / 'teacher.pth'))
    options = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
               'train_dataloader.dataset.indices=4', 'val_dataloader.dataset.indices=2',
               f'model.teacher.checkpoint={teacher}']
    for split in ('train', 'val', 'test'):       # converted JSON into tmp, images read in place
        options.append(f'{split}_dataloader.dataset.ann_file={tmp_path}/{split}.json')
    options += [f'{split}_evaluator.ann_file={tmp_path}/{split}.json' for split in ('val', 'test')]
    log = run_tool('tools/train.py', osp.join(CONFIGS, 'hint_frcnn_mv2_bccd.py'), '--work-dir',
                   str(tmp_path / 'run'), '--cfg-options', *options,
                   env_extra={DATA_ROOT_ENV: osp.dirname(bccd)})
    assert 'Loads checkpoint by imagenet backend from path: mmkd://imagenet/mobilenet_v2' in log
    assert re.search(r"converted .*bccd/? train to .*train.json: \{'boxes': 2804, "
                     r"'dropped_empty_box': 1, 'images': 205\}", log)
    for term in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_reg', 'loss_rcnn_kd_cls',
                 'loss_rcnn_kd_reg'):
        assert re.search(term + r': \d+\.\d+', log), term
    assert 'coco/bbox_mAP:' in log


def test_bccd_configs_read_bccd_in_the_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    default = voc_roots(Config.fromfile(osp.join(CONFIGS, 'hint_frcnn_mv2_bccd.py')))
    assert default == ['../shared/data/bccd/'] * 3
    assert osp.normpath(osp.join(ROOT, default[0])) == real_data_path('bccd')   # run from ROOT
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    for config in BCCD_CONFIGS:
        assert voc_roots(Config.fromfile(osp.join(CONFIGS, config))) == [f'{tmp_path}/bccd/'] * 3
    assert real_data_path('bccd') == str(tmp_path / 'bccd')


def test_data_prefix_keys_point_a_bccd_run_at_another_copy(tmp_path):
    """The keys the config names (and demo --data-root sets) reach the datasets; voc_root does
    not, as mmengine substitutes it when the file is parsed."""
    from mmkd.registry import DATASETS
    copy = tmp_path / 'my_bccd'
    (copy / 'Annotations').mkdir(parents=True)
    (copy / 'ImageSets' / 'Main').mkdir(parents=True)
    (copy / 'Annotations' / 'a.xml').write_text(ONE_IMAGE_VOC)
    (copy / 'ImageSets' / 'Main' / 'train.txt').write_text('a\n')
    config = osp.join(CONFIGS, 'hint_frcnn_mv2_bccd.py')
    options = {f'{split}_dataloader.dataset.data_prefix.img': f'{copy}/' for split in SPLITS}
    options['train_dataloader.dataset.ann_file'] = str(tmp_path / 'train.json')
    cfg = load_run_config(config, options)
    assert voc_roots(cfg) == [f'{copy}/'] * 3
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 1
    assert dataset.get_data_info(0)['img_path'] == str(copy / 'JPEGImages' / 'a.jpg')
    assert f'{copy}/' not in voc_roots(load_run_config(config, {'voc_root': f'{copy}/'}))


def test_demo_stops_on_a_missing_bccd_root_saying_where_bccd_comes_from(tmp_path):
    source = ('copy the BCCD/ folder (Annotations/, ImageSets/Main/, JPEGImages/) of '
              'https://github.com/Shenggan/BCCD_Dataset (MIT licence) there, ')
    cases = ((['--data-root', str(tmp_path / 'none')], {},
              f'at --data-root {tmp_path}/none: {source}or point --data-root at a copy'),
             ([], {DATA_ROOT_ENV: str(tmp_path)},
              f'at {tmp_path}/bccd: {source}or set {DATA_ROOT_ENV} to a folder that holds bccd/, '
              f'or pass --data-root VOC_ROOT'))
    for args, env, message in cases:
        proc = subprocess.run([sys.executable, 'tools/demo.py', '--task', 'bccd', '--quick',
                               '--work-dir', str(tmp_path / 'demo'), *args], cwd=ROOT,
                              env=dict(os.environ, **env), capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == \
            f'--task bccd: no BCCD blood-cell detection set {message}'
    assert not (tmp_path / 'demo').exists()       # stopped before any run


def bccd_run_dir(run_dir, config, bccd, ann_dir, val_map):
    """A finished BCCD run dir as tools/train.py leaves it (its config, a checkpoint at init,
    ``last_checkpoint`` and a validation record of ``val_map``), scoring 4 test images."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.merge_from_dict({'test_dataloader.dataset.data_prefix.img': bccd + '/',
                         'test_dataloader.dataset.ann_file': f'{ann_dir}/test.json',
                         'test_dataloader.dataset.indices': 4,
                         'test_evaluator.ann_file': f'{ann_dir}/test.json'})
    log = run_dir / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    cfg.dump(str(run_dir / config))
    checkpoint = save_fresh_checkpoint(str(run_dir / config), str(run_dir / 'epoch_12.pth'))
    (run_dir / 'last_checkpoint').write_text(checkpoint)
    log.joinpath('scalars.json').write_text(
        json.dumps({'lr': 0.01, 'loss': 1.0, 'iter': 1}) + '\n'
        + json.dumps({'coco/bbox_mAP': val_map, 'coco/bbox_mAP_50': val_map}) + '\n')
    (run_dir / 'demo_stage.json').write_text(json.dumps({'train_minutes': 1.0, 'epochs': 12}))


def test_demo_scores_each_run_on_the_test_split_once(tmp_path):
    bccd = real_data('bccd')
    work = tmp_path / 'demo'
    bccd_run_dir(work / 'teacher', 'gfl_mv2_teacher_bccd.py', bccd, tmp_path, val_map=0.6)
    bccd_run_dir(work / 'student_seed0', 'gfl_mv2_student_bccd.py', bccd, tmp_path, val_map=0.4)
    command = ('tools/demo.py', '--task', 'bccd_gfl', '--methods', 'all', '--seeds', '0',
               '--report-only', '--split', 'test', '--work-dir', str(work), '--teacher-epochs',
               '12')
    log = run_tool(*command)
    assert 'COCO mAP on the bccd_gfl test set' in log
    rows = {}
    for line in (work / 'results_test.md').read_text().splitlines()[2:]:
        label, _, box_map = line.strip('| ').split(' | ')[:3]
        rows[label] = float(box_map.split(' ')[0])
    for label, stage in (('teacher (GFL MV2, FPN 64)', 'teacher'),
                         ('student (GFL MV2, FPN 32)', 'student_seed0')):
        test_log = open(glob.glob(str(work / stage / 'test' / '*' / '*.log'))[0]).read()
        assert f"'{tmp_path}/test.json'" in test_log     # its run's test split,
        assert 'Epoch(test) [1/1]' in test_log            # 4 images (one batch of 8)
        record = glob.glob(str(work / stage / 'test' / '*' / '*.json'))
        assert rows[label] == round(json.load(open(record[0])).get('coco/bbox_mAP', 0.0), 3)
        assert rows[label] not in (0.6, 0.4)              # not the validation record
    assert (work / 'map_by_model_test.png').is_file() and not (work / 'results.md').exists()
    assert 'test split' not in run_tool(*command)     # read back, not scored again


def test_demo_refuses_the_test_split_for_a_generated_set():
    proc = subprocess.run([sys.executable, 'tools/demo.py', '--task', 'shapes', '--split', 'test',
                           '--report-only'], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert ('--split test: only the Pascal VOC tasks (bccd, bccd_gfl, cards) have a test '
            'split') in proc.stderr
