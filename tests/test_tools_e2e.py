"""The command-line tools as a user runs them: train, test, resume, export."""
import argparse
import os.path as osp
import re

import pytest
import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

from conftest import REVIEWKD_CONFIG, ROOT, run_tool
from mmkd.utils import load_run_config


def tiny_data_options(data_root):
    """--cfg-options that shrink the demo set to 8 train / 4 val images in ``data_root``."""
    options = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
               'train_dataloader.dataset.num_images=8', f'train_dataloader.dataset.data_root={data_root}/']
    for split in ('val', 'test'):
        options += [f'{split}_dataloader.dataset.data_root={data_root}/',
                    f'{split}_dataloader.dataset.num_images=4',
                    f'{split}_evaluator.ann_file={data_root}/annotations/val.json']
    return options


@pytest.fixture(scope='module')
def kd_run(tmp_path_factory, teacher_checkpoint):
    """One epoch (2 iterations) of tools/train.py configs/reviewkd_frcnn.py."""
    work = tmp_path_factory.mktemp('kd')
    options = tiny_data_options(work / 'data') + [f'model.teacher.checkpoint={teacher_checkpoint}']
    log = run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(work / 'run'),
                   '--cfg-options', *options)
    return dict(work=work, options=options, log=log, checkpoint=work / 'run' / 'epoch_1.pth')


@pytest.fixture(scope='module')
def stock_checkpoint(kd_run):
    """``kd_run``'s checkpoint as mmdet's own tools/train.py writes it: mmengine's
    CheckpointHook keeps the message hub, whose ``HistoryBuffer`` objects torch's
    ``weights_only`` loading refuses (mmkd's tools add a hook that writes plain types)."""
    from mmengine.logging import MessageHub
    checkpoint = torch.load(kd_run['checkpoint'], weights_only=True)
    hub = MessageHub('stock_run')
    for value in (2.5, 2.0):
        hub.update_scalar('train/loss', value)
    hub.update_info('iter', 2)
    checkpoint['message_hub'] = hub.state_dict()
    path = kd_run['work'] / 'stock_epoch_1.pth'
    torch.save(checkpoint, path)
    with pytest.raises(Exception, match='HistoryBuffer'):
        torch.load(path, weights_only=True)
    return path


def logged_terms(log):
    """Per training log line, ``{name: value}`` of ``loss`` and every ``loss_*`` term."""
    lines = [line for line in log.splitlines() if re.search(r'Epoch\(train\).* loss: ', line)]
    return [{name: float(value) for name, value in re.findall(r'\b(loss\w*): (-?[\d.]+)', line)}
            for line in lines]


def assert_total_is_the_sum(terms):
    """The optimised ``loss`` is the sum of the logged terms (4 decimals each): a distill term
    that is logged is also trained on."""
    parts = [value for name, value in terms.items() if name != 'loss']
    assert terms['loss'] == pytest.approx(sum(parts), abs=1e-4 * (len(parts) + 1)), terms


def test_train_logs_distill_loss_and_coco_map(kd_run):
    lines = logged_terms(kd_run['log'])
    assert lines and all(terms['loss_reviewkd'] > 0 for terms in lines)
    for terms in lines:
        assert_total_is_the_sum(terms)
    assert re.search(r'coco/bbox_mAP: -?\d', kd_run['log'])
    assert 'teacher: loaded' in kd_run['log']
    saved = torch.load(kd_run['checkpoint'], weights_only=True)   # plain types only
    state = saved['state_dict']
    assert not any(k.startswith('teacher') for k in state)
    # The connectors trained and were saved: each ABF batch norm ran once per training step
    # (2 steps), on batch statistics that moved its running mean off its initial zeros.
    tracked = [k for k in state if k.startswith('distillers.0.abfs.')
               and k.endswith('num_batches_tracked')]
    assert len(tracked) == 2 * 5 and all(int(state[k]) == 2 for k in tracked)
    assert all(state[k.replace('num_batches_tracked', 'running_mean')].abs().sum() > 0
               for k in tracked)


def parsed_options(options):
    """``--cfg-options`` as tools/train.py parses them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def test_tools_test_scores_the_student_without_its_teacher(kd_run, stock_checkpoint):
    """tools/test.py on a distillation checkpoint whose teacher file is gone, written as mmdet's
    own tools write it (no extra config line): the student alone, its weights from the
    checkpoint, scored as the validation of the run scored it (validation and test are the same
    4 images here)."""
    checkpoint = str(stock_checkpoint)
    gone = kd_run['work'] / 'moved_away' / 'teacher.pth'
    options = [option for option in kd_run['options']
               if not option.startswith('model.teacher.checkpoint=')]
    out = run_tool('tools/test.py', REVIEWKD_CONFIG, checkpoint, '--work-dir',
                   str(kd_run['work'] / 'test'), '--cfg-options', *options,
                   f'model.teacher.checkpoint={gone}')
    assert 'teacher: loaded' not in out
    saved = torch.load(kd_run['checkpoint'], weights_only=True)['state_dict']   # the same weights
    students = sum(key.startswith('student.') for key in saved)
    assert f'alone: {students} tensors loaded from {checkpoint}' in out
    printed = [line for line in out.splitlines() if line.startswith("{'coco/")][-1]
    validated = re.findall(r'Epoch\(val\).*', kd_run['log'])[-1]
    metrics = [{key: float(value) for key, value in re.findall(pattern, line)} for pattern, line
               in ((r"'(coco/bbox_mAP\w*)': (-?[\d.]+)", printed),
                   (r'(coco/bbox_mAP\w*): (-?[\d.]+)', validated))]
    assert len(metrics[0]) == 6 and metrics[0] == metrics[1]

    # In process, what tools/test.py builds predicts what the DistillDetector (its teacher
    # loaded) predicts: the same boxes and scores, all from the checkpoint's student.
    from mmdet.registry import MODELS
    from mmkd.apis.export import load_student_weights, student_run_config
    from mmkd.utils import load_checkpoint_strict
    cfg = load_run_config(REVIEWKD_CONFIG, parsed_options(kd_run['options']),
                          str(kd_run['work'] / 'in_process'))
    student = MODELS.build(student_run_config(cfg).model)
    assert load_student_weights(student, checkpoint) == students
    distiller = MODELS.build(cfg.model)
    load_checkpoint_strict(distiller, checkpoint)
    loader_cfg = cfg.test_dataloader
    loader_cfg.update(num_workers=0, persistent_workers=False)
    batch = next(iter(Runner.build_dataloader(loader_cfg)))
    with torch.no_grad():
        alone, before = student.eval().test_step(batch), distiller.eval().test_step(batch)
    assert len(alone) == len(batch['inputs']) == 4
    for ours, theirs in zip(alone, before):
        assert len(ours.pred_instances) > 0
        assert torch.equal(ours.pred_instances.bboxes, theirs.pred_instances.bboxes)
        assert torch.equal(ours.pred_instances.scores, theirs.pred_instances.scores)


def test_resume_restores_connectors_and_continues(kd_run):
    options = kd_run['options'] + ['train_cfg.max_epochs=2']
    log = run_tool('tools/train.py', REVIEWKD_CONFIG, '--work-dir', str(kd_run['work'] / 'run'),
                   '--resume', str(kd_run['checkpoint']), '--cfg-options', *options)
    assert 'resumed epoch: 1, iter: 2' in log
    assert osp.isfile(kd_run['work'] / 'run' / 'epoch_2.pth')

    # In process: after resuming, the ABF weights are exactly those of the checkpoint.
    cfg = load_run_config(REVIEWKD_CONFIG, parsed_options(options),
                          str(kd_run['work'] / 'resume_check'))
    cfg.resume, cfg.load_from = True, str(kd_run['checkpoint'])
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = torch.load(kd_run['checkpoint'], weights_only=True)['state_dict']
    restored = runner.model.state_dict()
    abf_keys = [k for k in saved if k.startswith('distillers.0.abfs.')]
    assert abf_keys and all(torch.equal(saved[k], restored[k]) for k in abf_keys)
    assert runner.iter == 2


def test_exported_student_runs_with_plain_mmdet(kd_run, stock_checkpoint):
    """Exported from a checkpoint written as mmdet's own tools write it."""
    out_dir = kd_run['work'] / 'export'
    run_tool('tools/export_student.py', REVIEWKD_CONFIG, str(stock_checkpoint), str(out_dir))
    image = kd_run['work'] / 'data' / 'val' / '00001.png'
    script = (
        'import sys\n'
        'from mmdet.apis import init_detector, inference_detector\n'
        f'model = init_detector({str(out_dir / "student.py")!r}, '
        f'{str(out_dir / "student.pth")!r}, device="cpu")\n'
        f'result = inference_detector(model, {str(image)!r})\n'
        'assert "mmkd" not in sys.modules, "mmkd was imported"\n'
        'print("classes", len(model.dataset_meta["classes"]), "boxes",'
        ' result.pred_instances.bboxes.shape[0], type(model).__name__)\n')
    out = run_tool('-c', script, cwd=str(kd_run['work']))
    assert 'classes 8 boxes' in out and 'FasterRCNN' in out


def test_exported_config_names_no_mmkd_type():
    """The hint config keeps its distillers in a base variable (``hint_kd_distillers``); the
    exported student's config drops such variables with the model's other mmkd parts."""
    from mmengine.config import Config
    from mmkd.apis.export import student_config
    hint = Config.fromfile(osp.join(ROOT, 'configs', 'hint_frcnn.py'))
    assert 'mmkd.' in hint.pretty_text and 'hint_kd_distillers' in hint
    exported = student_config(hint)
    assert 'mmkd' not in exported.pretty_text
    assert exported.model == Config.fromfile(
        osp.join(ROOT, 'configs', 'frcnn_r18w8_student_shapes.py')).model
    assert exported.train_dataloader.dataset.type == 'CocoDataset'


def test_hint_config_trains_with_amp_and_logs_every_term(tmp_path, teacher_checkpoint):
    options = tiny_data_options(tmp_path / 'data') + [
        f'model.teacher.checkpoint={teacher_checkpoint}', 'default_hooks.logger.interval=1']
    log = run_tool('tools/train.py', osp.join(ROOT, 'configs', 'hint_frcnn.py'), '--work-dir',
                   str(tmp_path / 'run'), '--amp', '--cfg-options', *options)
    assert "type='mmkd.AutocastOptimWrapper'" in log          # --amp without a GPU: bf16
    lines = logged_terms(log)
    assert len(lines) == 2                                     # logger interval 1, 2 iterations
    for terms in lines:
        # the hint distance and the soft cross-entropies are > 0; a bounded L2 is >= 0
        assert terms['loss_hint'] > 0 and terms['loss_rpn_kd_cls'] > 0, terms
        assert terms['loss_rcnn_kd_cls'] > 0, terms
        assert terms['loss_rpn_kd_reg'] >= 0 and terms['loss_rcnn_kd_reg'] >= 0, terms
        assert_total_is_the_sum(terms)
