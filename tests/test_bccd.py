"""Real data: the BCCD configs distil an ImageNet-pretrained MobileNetV2 student on BCCD."""
import os.path as osp
import re

import pytest

from conftest import CONFIGS, run_tool, save_fresh_checkpoint

BCCD = osp.join(osp.dirname(CONFIGS), '..', 'shared', 'data', 'bccd')


@pytest.mark.skipif(not osp.isdir(BCCD), reason='../shared/data/bccd is not on this machine')
def test_hint_kd_trains_and_validates_on_bccd(tmp_path):
    teacher = save_fresh_checkpoint(osp.join(CONFIGS, 'frcnn_mv2_teacher_bccd.py'),
                                    str(tmp_path / 'teacher.pth'))
    options = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
               'train_dataloader.dataset.indices=4', 'val_dataloader.dataset.indices=2',
               f'model.teacher.checkpoint={teacher}']
    for split in ('train', 'val', 'test'):       # converted JSON into tmp, images read in place
        options.append(f'{split}_dataloader.dataset.ann_file={tmp_path}/{split}.json')
    options += [f'{split}_evaluator.ann_file={tmp_path}/{split}.json' for split in ('val', 'test')]
    log = run_tool('tools/train.py', osp.join(CONFIGS, 'hint_frcnn_mv2_bccd.py'), '--work-dir',
                   str(tmp_path / 'run'), '--cfg-options', *options)
    assert 'Loads checkpoint by imagenet backend from path: mmkd://imagenet/mobilenet_v2' in log
    assert re.search(r"converted .*bccd/? train to .*train.json: \{'boxes': 2804, "
                     r"'dropped_empty_box': 1, 'images': 205\}", log)
    for term in ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_reg', 'loss_rcnn_kd_cls',
                 'loss_rcnn_kd_reg'):
        assert re.search(term + r': \d+\.\d+', log), term
    assert 'coco/bbox_mAP:' in log
