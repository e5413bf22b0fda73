"""The demo: teacher, student alone and distilled students on embedded data, one table.

    python tools/demo.py [--task shapes|shapes_retinanet|shapes_gfl|shapes_detr|faces|masks|bccd
                          |bccd_gfl|cards ...]
                         [--methods ...] [--seeds 0 1 2] [--work-dir work_dirs/demo_TASK]
                         [--teacher-epochs N] [--student-epochs N] [--train-images N]
                         [--data-root DIR] [--quick] [--jobs N] [--reuse] [--report-only]
                         [--split val|test]

``shapes`` (default): Faster R-CNN on the shapes set, methods ``pkd`` (default: its gain held on
both report sets with the smallest seed spread), ``reviewkd``, ``hint``, ``cwd``, ``mgd``,
``fgd``, the combinations ``pkd_reviewkd``, ``pkd_outputs`` (PKD with the RPN and RoI-head
output KD; ``pkd_outputs_w2`` with those at weight 2, ``pkd_outputs_rel`` that in relative
weights) and ``pkd_roi_crosskd`` (the RoI head's
term by CrossKD's cross-head scheme), the classic ``at``, ``fsp``, ``rkd``, ``sp``, and the
schemes ``two_teachers`` (PKD from the mean of two teachers: the teacher trained again with
seed 1 in ``teacher_seed1``), ``each_teacher`` (PKD from each of the two, a loss per teacher),
``ta_chain`` (teacher -> assistant w16 -> student, PKD at each step, one ``tools/chain.py`` run)
and ``born_again`` (two generations of the teacher's architecture), a row per stage.
``shapes_retinanet``: the Faster R-CNN shapes teacher distilled into a RetinaNet student (a
two-stage teacher for a one-stage student, levels paired by stride), method ``reviewkd``; and
``dml``, two such students trained together by deep mutual learning (no teacher).
``shapes_gfl``: GFL (a distribution box head) on the shapes set, methods ``ld``, ``crosskd``
(both by default) and ``logitkd`` (logit KD on the dense classification branch).
``shapes_detr``: DINO on the shapes set (ResNet-18 w32 teacher, w8 student, the same
transformer), methods ``kd_detr`` (default: KD-DETR's distillation points), ``pkd`` (PKD on the
necks), ``kd_detr_pkd`` (both), ``hungarian_kd`` (DETRDistill's Hungarian-matched
predictions) and ``detrdistill`` (its three terms); teacher and student train 24 epochs
(AdamW) by default.
``faces``: RetinaNet on the face set, methods ``clskd`` (default), ``logitkd`` and
``two_teachers`` (logit KD from the mean of two teachers' probabilities, MEAL V2).
``masks``: Mask R-CNN on the shapes set (box and mask mAP), methods ``reviewkd``,
``reviewkd_maskkd`` (both by default).
``bccd``: Faster R-CNN on ImageNet-pretrained MobileNetV2 on the real BCCD set (a Pascal VOC
root: ``--data-root``, else ``bccd/`` in ``$MMKD_DATA_ROOT``, default ``../shared/data``; BCCD
comes from https://github.com/Shenggan/BCCD_Dataset, MIT licence), methods ``pkd``,
``reviewkd``, ``hint``, ``cwd``, ``cwd_w1`` (CWD at weight 1), ``mgd``, ``fgd``,
``pkd_reviewkd``, ``pkd_outputs``, ``pkd_cwd_outputs`` (with CWD at weight 1 as well),
``pkd_outputs_w2`` (83% of the gap on val, 86% on test) and ``pkd_outputs_w4`` (the output
terms at weight 2 and 4), ``pkd_outputs_rel`` (the default: that recipe in weights relative to
the detection loss, which carry to another set as ratios; level with the fixed weights on all
three sets), ``pkd_roi_crosskd`` (CrossKD's cross-head scheme on the RoI head in place
of its output terms), ``searched`` and ``searched_e4`` (the recipe searches' winners, 3- and
4-epoch trials); the teacher trains 16 epochs by default.
``bccd_gfl``: GFL on the same MobileNetV2 teacher and student sizes on BCCD, methods ``crosskd``
(default), ``crosskd_pkd`` (CrossKD with PKD on the FPN) and ``ld``; the teacher trains 16
epochs.
``cards``: the BCCD models on a playing-card set (6 ranks; ``cards/`` in the data root, made by
``mmkd.datasets.labelimg_folders`` from EdjeElectronics' Pinochle-deck photos, Apache-2.0),
methods ``pkd_outputs_w2`` (the BCCD default), ``pkd_outputs_rel`` (it in relative weights),
``searched`` and ``searched_e4`` (the searches' winners, the second with the default given
first); the teacher trains 16 epochs.

Each stage runs ``tools/train.py`` as a user would (its log lines, with ETA, stream through);
the demo set is generated on first use. One teacher (seed 0) serves every student run (and a
second, seed 1, the two-teacher scheme); a teacher already trained in ``WORK_DIR/teacher`` for the
same number of epochs is reused. The student alone and each method run once per seed
(``randomness.seed``); ``--reuse`` keeps those already finished in the work dir, so a method added
later joins the same table; ``--methods all`` runs (or, with ``--report-only``, reports) every
method of each task. All runs validate with COCO mAP at the end; ``WORK_DIR`` gets
``results.md`` (mean ± sd over seeds, delta and gap recovered), ``map_by_model.png`` and
``loss_curves.png``. ``--quick``: 1 epoch on 16 images, a smoke run. ``--split test`` (the
BCCD tasks) scores each finished run's last checkpoint on the held-out test split as well, by
``tools/test.py`` once per run (kept in ``STAGE_DIR/test``), into ``results_test.md`` and
``map_by_model_test.png``.

``--jobs N`` trains up to N runs at a time, each with its share of the CPU threads and its output
in ``STAGE_DIR/train.out``: the student alone starts next to its teacher, the distilled students
once the teacher is there, and several tasks fill each other's free slots. The report in the
README (shapes and BCCD, both Faster R-CNN methods, 3 seeds) is
``python tools/demo.py --task shapes bccd --methods reviewkd hint --seeds 0 1 2 --jobs 2``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Tuple, Union

from mmengine.runner import find_latest_checkpoint

from mmkd.apis.chain import chain_stage_dirs
from mmkd.apis.report import (final_metrics, loss_curve, metrics_of_test_run, plot_losses,
                              plot_map, results_table)
from mmkd.datasets.real_data import DATA_ROOT_ENV, missing_data_message, real_data_path

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')


class Method(NamedTuple):
    """A distilled student of a task (a plain ``(config, label)`` pair is one with the defaults).

    Attributes:
        configs: its config in ``configs/``, or a chain's configs (``tools/chain.py``: each
            stage's student teaches the next; the first stage reads the task's teacher).
        label: the row of its (last stage's) student.
        teachers: the teachers its first stage reads: the task's teacher trained with seeds
            0 .. N-1 (``model.teachers[i].checkpoint``; one: ``model.teacher.checkpoint``);
            0 for a scheme with no pretrained teacher (mutual learning).
        stage_labels: rows for a chain's earlier stages as well, first stage first.
    """
    configs: Union[str, Tuple[str, ...]]
    label: str
    teachers: int = 1
    stage_labels: Tuple[str, ...] = ()

    @property
    def chain(self) -> Tuple[str, ...]:
        return (self.configs, ) if isinstance(self.configs, str) else tuple(self.configs)


TASKS = {
    'shapes': dict(
        teacher=('frcnn_r18w32_teacher_shapes.py', 'teacher (Faster R-CNN R18 w32, FPN 64)'),
        student=('frcnn_r18w8_student_shapes.py', 'student (Faster R-CNN R18 w8, FPN 32)'),
        methods=dict(reviewkd=('reviewkd_frcnn.py', 'student + ReviewKD'),
                     hint=('hint_frcnn.py', 'student + hint KD (Chen et al.)'),
                     cwd=('cwd_frcnn.py', 'student + CWD'),
                     pkd=('pkd_frcnn.py', 'student + PKD'),
                     pkd_p2_p5=('pkd_p2_p5_frcnn.py', 'student + PKD (P2-P5, as MMRazor)'),
                     searched=('searched_frcnn_shapes.py',
                               'student + searched recipe (CWD + RoI CrossKD)'),
                     mgd=('mgd_frcnn.py', 'student + MGD'),
                     fgd=('fgd_frcnn.py', 'student + FGD'),
                     pkd_reviewkd=('pkd_reviewkd_frcnn.py', 'student + PKD + ReviewKD'),
                     pkd_outputs=('pkd_outputs_frcnn.py', 'student + PKD + output KD'),
                     pkd_outputs_w2=('pkd_outputs_w2_frcnn.py',
                                     'student + PKD + output KD (weight 2)'),
                     pkd_outputs_rel=('pkd_outputs_relative_frcnn.py',
                                      'student + PKD + output KD (relative weights)'),
                     pkd_roi_crosskd=('pkd_roi_crosskd_frcnn.py',
                                      'student + PKD + RPN KD + RoI CrossKD'),
                     at=('at_frcnn.py', 'student + attention transfer'),
                     fsp=('fsp_frcnn.py', 'student + FSP'),
                     rkd=('rkd_frcnn.py', 'student + RKD (objects)'),
                     sp=('sp_frcnn.py', 'student + SP (objects)'),
                     two_teachers=Method('pkd_two_teachers_frcnn.py',
                                         'student + PKD from two teachers (mean)', teachers=2),
                     each_teacher=Method('pkd_each_teacher_frcnn.py',
                                         'student + PKD from each of two teachers', teachers=2),
                     ta_chain=Method(('ta_chain/pkd_teacher_to_assistant_shapes.py',
                                      'ta_chain/pkd_assistant_to_student_shapes.py'),
                                     'student + PKD from the assistant',
                                     stage_labels=('assistant (Faster R-CNN R18 w16, FPN 48) + '
                                                   'PKD from the teacher',)),
                     born_again=Method(('born_again_frcnn.py', 'born_again_frcnn.py'),
                                       'born-again generation 2 (teacher size)',
                                       stage_labels=('born-again generation 1 (teacher size)',))),
        default_methods=['pkd']),
    'shapes_retinanet': dict(
        teacher=('frcnn_r18w32_teacher_shapes.py', 'teacher (Faster R-CNN R18 w32, FPN 64)'),
        student=('retinanet_r18w8_student_shapes.py', 'student (RetinaNet R18 w8, FPN 32)'),
        methods=dict(reviewkd=('reviewkd_frcnn_to_retinanet.py',
                               'student + ReviewKD (strides 8-64)'),
                     dml=Method('dml_retinanet_shapes.py',
                                'student + a peer (deep mutual learning, no teacher)', teachers=0)),
        default_methods=['reviewkd']),
    'shapes_gfl': dict(
        teacher=('gfl_r18w32_teacher_shapes.py', 'teacher (GFL R18 w32, FPN 64)'),
        student=('gfl_r18w8_student_shapes.py', 'student (GFL R18 w8, FPN 32)'),
        methods=dict(ld=('ld_gfl.py', 'student + LD'),
                     crosskd=('crosskd_gfl.py', 'student + CrossKD'),
                     logitkd=('logitkd_gfl.py', 'student + logit KD (T 2)')),
        default_methods=['ld', 'crosskd']),
    'shapes_detr': dict(
        teacher=('dino_r18w32_teacher_shapes.py', 'teacher (DINO R18 w32)'),
        student=('dino_r18w8_student_shapes.py', 'student (DINO R18 w8)'),
        methods=dict(kd_detr=('kd_detr_dino.py', 'student + KD-DETR'),
                     pkd=('pkd_dino.py', 'student + PKD (neck)'),
                     kd_detr_pkd=('kd_detr_pkd_dino.py', 'student + KD-DETR + PKD'),
                     hungarian_kd=('hungarian_kd_dino.py',
                                   'student + Hungarian-matched KD (DETRDistill)'),
                     detrdistill=('detrdistill_dino.py',
                                  'student + DETRDistill (its three terms)')),
        default_methods=['kd_detr'], teacher_epochs=24, student_epochs=24),
    'faces': dict(
        teacher=('retinanet_r18w32_teacher_faces.py', 'teacher (RetinaNet R18 w32, FPN 64)'),
        student=('retinanet_r18w8_student_faces.py', 'student (RetinaNet R18 w8, FPN 32)'),
        methods=dict(clskd=('clskd_retinanet_face.py', 'student + ClsMapKD (seed mining)'),
                     logitkd=('logitkd_retinanet_face.py', 'student + logit KD (T 2)'),
                     two_teachers=Method('logitkd_two_teachers_retinanet_face.py',
                                         'student + logit KD from two teachers (mean)',
                                         teachers=2)),
        default_methods=['clskd']),
    'masks': dict(
        teacher=('maskrcnn_r18w32_teacher_shapes.py', 'teacher (Mask R-CNN R18 w32, FPN 64)'),
        student=('maskrcnn_r18w8_student_shapes.py', 'student (Mask R-CNN R18 w8, FPN 32)'),
        methods=dict(reviewkd=('reviewkd_maskrcnn.py', 'student + ReviewKD'),
                     reviewkd_maskkd=('reviewkd_maskkd_maskrcnn.py',
                                      'student + ReviewKD + mask KD')),
        default_methods=['reviewkd', 'reviewkd_maskkd']),
    'bccd': dict(
        teacher=('frcnn_mv2_teacher_bccd.py', 'teacher (Faster R-CNN MV2, FPN 64)'),
        student=('frcnn_mv2_student_bccd.py', 'student (Faster R-CNN MV2, FPN 32)'),
        methods=dict(reviewkd=('reviewkd_frcnn_mv2_bccd.py', 'student + ReviewKD'),
                     hint=('hint_frcnn_mv2_bccd.py', 'student + hint KD (Chen et al.)'),
                     cwd=('cwd_frcnn_mv2_bccd.py', 'student + CWD'),
                     cwd_w1=('cwd_w1_frcnn_mv2_bccd.py', 'student + CWD (weight 1)'),
                     pkd=('pkd_frcnn_mv2_bccd.py', 'student + PKD'),
                     mgd=('mgd_frcnn_mv2_bccd.py', 'student + MGD'),
                     fgd=('fgd_frcnn_mv2_bccd.py', 'student + FGD'),
                     pkd_reviewkd=('pkd_reviewkd_frcnn_mv2_bccd.py', 'student + PKD + ReviewKD'),
                     pkd_outputs=('pkd_outputs_frcnn_mv2_bccd.py', 'student + PKD + output KD'),
                     pkd_cwd_outputs=('pkd_cwd_outputs_frcnn_mv2_bccd.py',
                                      'student + PKD + CWD (weight 1) + output KD'),
                     pkd_outputs_w2=('pkd_outputs_w2_frcnn_mv2_bccd.py',
                                     'student + PKD + output KD (weight 2)'),
                     pkd_outputs_rel=('pkd_outputs_relative_frcnn_mv2_bccd.py',
                                      'student + PKD + output KD (relative weights)'),
                     pkd_outputs_w4=('pkd_outputs_w4_frcnn_mv2_bccd.py',
                                     'student + PKD + output KD (weight 4)'),
                     searched=('searched_frcnn_mv2_bccd.py',
                               'student + searched recipe (RoI CrossKD)'),
                     searched_e4=('searched_e4_frcnn_mv2_bccd.py',
                                  'student + searched recipe, 4-epoch trials (PKD + output KD)'),
                     pkd_roi_crosskd=('pkd_roi_crosskd_frcnn_mv2_bccd.py',
                                      'student + PKD + RPN KD + RoI CrossKD')),
        default_methods=['pkd_outputs_rel'], teacher_epochs=16, voc='bccd'),
    'bccd_gfl': dict(
        teacher=('gfl_mv2_teacher_bccd.py', 'teacher (GFL MV2, FPN 64)'),
        student=('gfl_mv2_student_bccd.py', 'student (GFL MV2, FPN 32)'),
        methods=dict(ld=('ld_gfl_mv2_bccd.py', 'student + LD'),
                     crosskd=('crosskd_gfl_mv2_bccd.py', 'student + CrossKD'),
                     crosskd_pkd=('crosskd_pkd_gfl_mv2_bccd.py', 'student + CrossKD + PKD')),
        default_methods=['crosskd'], teacher_epochs=16, voc='bccd'),
    'cards': dict(
        teacher=('frcnn_mv2_teacher_cards.py', 'teacher (Faster R-CNN MV2, FPN 64)'),
        student=('frcnn_mv2_student_cards.py', 'student (Faster R-CNN MV2, FPN 32)'),
        methods=dict(pkd_outputs_w2=('pkd_outputs_w2_frcnn_mv2_cards.py',
                                     'student + PKD + output KD (weight 2, the BCCD default)'),
                     pkd_outputs_rel=('pkd_outputs_relative_frcnn_mv2_cards.py',
                                      'student + PKD + output KD (relative weights)'),
                     searched=('searched_frcnn_mv2_cards.py',
                               'student + searched recipe (ReviewKD)'),
                     searched_e4=('searched_e4_frcnn_mv2_cards.py',
                                  'student + searched recipe, the default given first '
                                  '(PKD + output KD)')),
        default_methods=['pkd_outputs_rel'], teacher_epochs=16, voc='cards'),
}


class TrainingSlots:
    """Runs ``tools/train.py`` processes, at most ``jobs`` at a time.

    With ``jobs > 1`` each run gets its share of the CPU threads (``OMP_NUM_THREADS``) and writes
    its output to ``STAGE_DIR/train.out`` instead of the terminal. On a small CPU machine this is
    the faster way through many small runs: two one-thread runs at once got through 1.6x the
    steps of one two-thread run at a time on the 2-core development machine. On a GPU keep 1.
    """

    def __init__(self, jobs=1):
        self.jobs = jobs
        self._free = threading.BoundedSemaphore(jobs)
        self.failure = None         # the first failed run's message; no new run starts after it
        self.env = dict(os.environ)
        if jobs > 1:
            threads = str(max(1, len(os.sched_getaffinity(0)) // jobs))
            self.env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)

    def run(self, name, cmd, stage_dir):
        """Run ``cmd`` once a slot is free; returns the minutes it took."""
        with self._free:
            if self.failure:
                raise SystemExit(f'{name}: not started after {self.failure}')
            start = time.time()
            if self.jobs == 1:
                print(f'\n=== {name} ===', flush=True)
                result = subprocess.run(cmd, cwd=ROOT, env=self.env)
            else:
                os.makedirs(stage_dir, exist_ok=True)
                out = osp.join(stage_dir, 'train.out')
                print(f'=== {name}: started (log: {out}) ===', flush=True)
                with open(out, 'w') as log:
                    result = subprocess.run(cmd, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
            if result.returncode:
                where = '' if self.jobs == 1 else f'; its output: {out}'
                self.failure = f'{name} failed (exit {result.returncode}){where}'
                raise SystemExit(self.failure)
            return round((time.time() - start) / 60, 1)


def finished(record: str, epochs: int) -> bool:
    """Whether the stage whose ``demo_stage.json`` is ``record`` finished ``epochs`` epochs."""
    if not osp.isfile(record):
        return False
    with open(record) as f:
        return json.load(f).get('epochs') == epochs


def seed_run(stage, seed):
    """The work-dir folder of one seed's run of ``stage`` (``student`` or
    ``student_<method>``)."""
    return f'{stage}_seed{seed}'


def teacher_run(seed):
    """The work-dir folder of the teacher trained with ``seed``."""
    return 'teacher' if seed == 0 else f'teacher_seed{seed}'


def stage_dirs(work_dir, name, configs):
    """The run dir of each stage of run ``name``: ``WORK_DIR/NAME`` for one config, a chain's
    stage dirs inside it for several."""
    run_dir = osp.join(work_dir, name)
    return [run_dir] if len(configs) == 1 else chain_stage_dirs(run_dir, configs)


def train(name, configs, work_dir, epochs, options=(), train_images=None, report_only=False,
          slots=None, reuse=False):
    """Run tools/train.py for ``epochs`` epochs in one of ``slots`` (several ``configs``: a
    chain, tools/chain.py, every stage for ``epochs``); returns the final COCO metrics of each
    stage, with the minutes the run took (kept in ``WORK_DIR/NAME/demo_stage.json``, which
    ``report_only`` reads back instead of training, and ``reuse`` too when that run finished
    the same number of epochs)."""
    run_dir = osp.join(work_dir, name)
    record = osp.join(run_dir, 'demo_stage.json')
    task = osp.basename(work_dir.rstrip('/'))
    trained = not (report_only or reuse and finished(record, epochs))
    if trained:
        tool = 'train.py' if len(configs) == 1 else 'chain.py'
        cmd = [sys.executable, osp.join(ROOT, 'tools', tool), *configs, '--work-dir', run_dir,
               '--cfg-options', f'train_cfg.max_epochs={epochs}',
               f'train_cfg.val_interval={epochs}', f'param_scheduler.1.end={epochs}',
               f'param_scheduler.1.milestones=[{int(epochs * 0.75)}]', *options]
        if train_images:
            cmd.append(f'train_dataloader.dataset.indices={train_images}')
        shown = ' -> '.join(osp.relpath(config, ROOT) for config in configs)
        minutes = (slots or TrainingSlots()).run(f'{task}/{name}: {shown}, {epochs} epochs', cmd,
                                                 run_dir)
        with open(record, 'w') as f:
            json.dump(dict(train_minutes=minutes, epochs=epochs), f)
    else:
        minutes = None
        if osp.isfile(record):
            with open(record) as f:
                minutes = json.load(f)['train_minutes']
        if reuse and not report_only:
            print(f'=== {task}/{name}: reusing the finished run ===', flush=True)
    metrics = [dict(final_metrics(stage_dir), train_minutes=minutes)
               for stage_dir in stage_dirs(work_dir, name, configs)]
    if trained and slots and slots.jobs > 1:
        print(f'--- {task}/{name}: done in {minutes} min, bbox_mAP '
              f'{metrics[-1].get("coco/bbox_mAP")}', flush=True)
    return metrics


def metrics_on_test_split(stage_dir, slots, train_minutes=None):
    """COCO metrics of the run in ``stage_dir`` on the test split: its last checkpoint under its
    own config (the one ``tools/train.py`` saved there), by ``tools/test.py`` once, into
    ``STAGE_DIR/test``, read back from there later."""
    test_dir = osp.join(stage_dir, 'test')
    if not glob.glob(osp.join(test_dir, '*', '*.json')):
        configs = glob.glob(osp.join(stage_dir, '*.py'))
        if len(configs) != 1:
            raise SystemExit(f'--split test: {stage_dir} should hold the one config of its run, '
                             f'found {len(configs)}')
        checkpoint = find_latest_checkpoint(stage_dir)
        if checkpoint is None:
            raise SystemExit(f'--split test: {stage_dir} has no last_checkpoint')
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), configs[0], checkpoint,
               '--work-dir', test_dir]
        slots.run(f'{osp.relpath(stage_dir, ROOT)}: test split', cmd, test_dir)
    return dict(metrics_of_test_run(test_dir), train_minutes=train_minutes)


def teacher_stage(config, work_dir, epochs, train_images=None, options=(), report_only=False,
                  slots=None, seed=0):
    """Train the teacher of ``seed`` unless ``WORK_DIR/teacher`` (other seeds:
    ``teacher_seed<N>``) already holds one of ``epochs`` epochs; returns its checkpoint and
    metrics."""
    name = teacher_run(seed)
    checkpoint = osp.join(work_dir, name, f'epoch_{epochs}.pth')
    options = list(options) + [f'randomness.seed={seed}']
    if report_only:
        if not osp.isfile(checkpoint):
            raise SystemExit(f'--report-only: no teacher at {checkpoint}')
        return checkpoint, train(name, [config], work_dir, epochs, report_only=True)[0]
    if not osp.isfile(checkpoint):
        return checkpoint, train(name, [config], work_dir, epochs, options, train_images,
                                 slots=slots)[0]
    print(f'=== {name}: reusing {checkpoint} ===', flush=True)
    metrics = dict(final_metrics(osp.join(work_dir, name)), train_minutes='reused')
    return checkpoint, metrics


def teacher_options(checkpoints):
    """--cfg-options pointing a distillation config at its teachers' checkpoints."""
    if len(checkpoints) == 1:
        return [f'model.teacher.checkpoint={checkpoints[0]}']
    return [f'model.teachers.{index}.checkpoint={checkpoint}'
            for index, checkpoint in enumerate(checkpoints)]


def data_root_options(data_root, voc=False):
    """--cfg-options that point every split and the evaluators at ``data_root``: the generated
    set's folder, or (``voc``) a Pascal VOC root whose COCO JSON goes to ``data/<its name>/``."""
    root = data_root.rstrip('/') + '/'
    splits = ('train', 'val', 'test')
    if voc:
        ann_dir = osp.join('data', osp.basename(root.rstrip('/'))) + '/'
        return ([f'{split}_dataloader.dataset.data_prefix.img={root}' for split in splits]
                + [f'{split}_dataloader.dataset.ann_file={ann_dir}{split}.json' for split in splits]
                + [f'{split}_evaluator.ann_file={ann_dir}{split}.json'
                   for split in ('val', 'test')])
    options = [f'{split}_dataloader.dataset.data_root={root}' for split in splits]
    return options + [f'{split}_evaluator.ann_file={root}annotations/val.json'
                      for split in ('val', 'test')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', nargs='+', choices=sorted(TASKS), default=['shapes'],
                        help='one or more tasks, run one after the other (default: shapes)')
    parser.add_argument('--methods', nargs='+',
                        help='distillation runs to compare with the student alone, each run on '
                        'the tasks that have it, or "all" (every method of each task); default: '
                        + '; '.join(f'{t}: {" ".join(c["default_methods"])}'
                                    for t, c in TASKS.items()))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='one run of the student and of each method per seed')
    parser.add_argument('--work-dir', help='default work_dirs/demo_TASK; with several tasks, '
                        'WORK_DIR/TASK')
    parser.add_argument('--teacher-epochs', type=int,
                        help='default 12 (bccd, cards: 16; shapes_detr: 24)')
    parser.add_argument('--student-epochs', type=int,
                        help='default 12 (shapes_detr: 24)')
    parser.add_argument('--train-images', type=int,
                        help='train on the first N training images only (default: all)')
    parser.add_argument('--data-root', help='generate and read the data set here (default: the '
                        'config\'s, data/<set>/); bccd: the Pascal VOC root (default '
                        f'${DATA_ROOT_ENV}/bccd, ${DATA_ROOT_ENV} defaulting to ../shared/data); '
                        'one task only')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 1 epoch each on 16 training images')
    parser.add_argument('--jobs', type=int, default=1,
                        help='training runs at a time (default 1), the CPU threads shared '
                        'between them (on 2 cores, two one-thread BCCD runs got through 1.6x '
                        'the steps of one two-thread run). Distilled students wait for their '
                        'teacher; several tasks share the slots')
    parser.add_argument('--reuse', action='store_true',
                        help='keep the runs already finished in the work dir for the same '
                        'number of epochs (as the teacher always is) and train only the '
                        'missing ones; default: train every student run again')
    parser.add_argument('--report-only', action='store_true',
                        help='rebuild results.md and the plots from the runs in the work dir')
    parser.add_argument('--split', choices=('val', 'test'), default='val',
                        help='score the models on this split (default val, what training '
                        'validates on); test (BCCD tasks): each finished run\'s last checkpoint '
                        'by tools/test.py, once, into STAGE_DIR/test; the report goes to '
                        'results_test.md and map_by_model_test.png')
    args = parser.parse_args()
    if args.split == 'test' and not all(TASKS[t].get('voc') for t in args.task):
        parser.error('--split test: only the Pascal VOC tasks ('
                     + ', '.join(t for t in TASKS if TASKS[t].get('voc'))
                     + ') have a test split; the generated sets are scored on val')
    if args.methods and args.methods != ['all']:
        offered = set().union(*(TASKS[t]['methods'] for t in args.task))
        if set(args.methods) - offered:
            parser.error(f'--methods {sorted(set(args.methods) - offered)}: task(s) '
                         f'{" ".join(args.task)} offer {sorted(offered)}')
    if args.data_root and len(args.task) > 1:
        parser.error('--data-root is for one task at a time')
    if args.quick:
        args.teacher_epochs = args.student_epochs = 1
        args.train_images = args.train_images or 16
    if args.jobs < 1:
        parser.error('--jobs must be at least 1')
    if not args.report_only:
        for name in args.task:
            if TASKS[name].get('voc'):
                check_voc_root(name, args.data_root)
    started = time.time()
    slots = TrainingSlots(args.jobs)
    several = len(args.task) > 1
    # with jobs > 1 the tasks run side by side, so one task's students fill the slot that
    # another's teacher leaves
    with ThreadPoolExecutor(len(args.task) if args.jobs > 1 else 1) as pool:
        results = list(pool.map(lambda name: run_task(name, args, slots, several), args.task))
    for name, result in zip(args.task, results):
        print(result)
    print(f'\n{" ".join(args.task)}: {(time.time() - started) / 60:.1f} minutes wall, '
          f'{args.jobs} run(s) at a time')


def check_voc_root(name, data_root=None):
    """Stop, saying where the set comes from, when task ``name`` has no Pascal VOC root at
    ``data_root`` (default: its real data set in the data root)."""
    voc = TASKS[name]['voc']
    root = data_root or real_data_path(voc)
    if not osp.isdir(osp.join(root, 'ImageSets', 'Main')):
        message = (missing_data_message(voc, root, '--data-root') if data_root else
                   missing_data_message(voc, root) + ', or pass --data-root VOC_ROOT')
        raise SystemExit(f'--task {name}: {message}')


def task_methods(name, requested=None):
    """The methods of task ``name`` that ``--methods`` asks for: those it offers of
    ``requested``, every one for ``['all']``, its default ones for none."""
    task = TASKS[name]
    if requested == ['all']:
        return list(task['methods'])
    return [m for m in requested or task['default_methods'] if m in task['methods']]


def run_task(name, args, slots, several=False):
    """Teacher, student and the methods of task ``name`` in ``slots``; writes
    WORK_DIR/results.md and the plots, returns the summary to print."""
    task = TASKS[name]
    methods = task_methods(name, args.methods)
    teacher_epochs = args.teacher_epochs or task.get('teacher_epochs', 12)
    student_epochs = args.student_epochs or task.get('student_epochs', 12)
    work_dir = osp.join(ROOT, 'work_dirs', f'demo_{name}' + ('_quick' if args.quick else ''))
    if args.work_dir:
        work_dir = osp.join(args.work_dir, name) if several else args.work_dir
    data_root = args.data_root or (real_data_path(task['voc']) if task.get('voc') else None)
    common = data_root_options(data_root, task.get('voc')) if data_root else []

    (teacher_config, teacher_label), student = task['teacher'], Method(*task['student'],
                                                                       teachers=0)
    methods = {key: Method(*task['methods'][key]) for key in methods}
    if args.report_only and args.methods == ['all']:
        ran = {key: method for key, method in methods.items() if all(
            finished(osp.join(work_dir, seed_run(f'student_{key}', seed), 'demo_stage.json'),
                     student_epochs) for seed in args.seeds)}
        if set(methods) - set(ran):
            print(f'--report-only --methods all: no finished runs of '
                  f'{" ".join(sorted(set(methods) - set(ran)))} in {work_dir}, left out')
        methods = ran
    teacher_seeds = range(max([1] + [method.teachers for method in methods.values()]))

    def student_runs(pool, stage, method, options=()):
        configs = [osp.join(CONFIGS, config) for config in method.chain]
        return [pool.submit(train, seed_run(stage, seed), configs, work_dir, student_epochs,
                            common + list(options) + [f'randomness.seed={seed}'],
                            args.train_images, args.report_only, slots, args.reuse)
                for seed in args.seeds]

    # the student alone does not wait for the teacher; the distilled students do
    with ThreadPoolExecutor(args.jobs) as pool:
        teacher_jobs = [pool.submit(teacher_stage, osp.join(CONFIGS, teacher_config), work_dir,
                                    teacher_epochs, args.train_images, common, args.report_only,
                                    slots, seed) for seed in teacher_seeds]
        stages = [(student, 'student', student_runs(pool, 'student', student))]
        teachers = [job.result() for job in teacher_jobs]
        for key, method in methods.items():
            checkpoints = [checkpoint for checkpoint, _ in teachers[:method.teachers]]
            stages.append((method, f'student_{key}', student_runs(
                pool, f'student_{key}', method, teacher_options(checkpoints))))
        rows = [(teacher_label + (f', seed {seed}' if seed else ''), [metrics])
                for seed, (_, metrics) in zip(teacher_seeds, teachers)]
        row_dirs = [[osp.join(work_dir, teacher_run(seed))] for seed in teacher_seeds]
        curves = {}
        for method, stage, runs in stages:
            per_seed = [run.result() for run in runs]        # each: the chain's stages' metrics
            labels = (*method.stage_labels, method.label)
            for index, label in enumerate(labels, start=len(method.chain) - len(labels)):
                rows.append((label, [stages_metrics[index] for stages_metrics in per_seed]))
                row_dirs.append([stage_dirs(work_dir, seed_run(stage, seed), method.chain)[index]
                                 for seed in args.seeds])
                curves[label] = [loss_curve(run_dir) for run_dir in row_dirs[-1]]
        if args.split == 'test':
            rows = [(label, list(pool.map(metrics_on_test_split, run_dirs, [slots] * len(run_dirs),
                                          [m['train_minutes'] for m in metrics])))
                    for (label, metrics), run_dirs in zip(rows, row_dirs)]
    suffix = '' if args.split == 'val' else f'_{args.split}'
    result = results_table(rows, teachers=len(teachers))
    with open(osp.join(work_dir, f'results{suffix}.md'), 'w') as f:
        f.write(result + '\n')
    plot_map(rows, osp.join(work_dir, f'map_by_model{suffix}.png'), teachers=len(teachers),
             split=args.split)
    plot_losses(curves, osp.join(work_dir, 'loss_curves.png'))
    return (f'\nCOCO mAP on the {name} {args.split} set ({student_epochs} student epochs, '
            f'{teacher_epochs} teacher epochs, seeds {args.seeds}):\n{result}\n'
            f'(also in {osp.join(work_dir, f"results{suffix}.md")}, with '
            f'map_by_model{suffix}.png and loss_curves.png)')


if __name__ == '__main__':
    main()
