"""The demo: teacher, student alone and distilled students on embedded data, one table.

    python tools/demo.py [--task shapes|faces|masks|bccd ...] [--methods ...] [--seeds 0 1 2]
                         [--work-dir work_dirs/demo_TASK] [--teacher-epochs N]
                         [--student-epochs N] [--train-images N] [--data-root DIR] [--quick]

``shapes`` (default): Faster R-CNN on the shapes set, methods ``reviewkd`` (default), ``hint``.
``faces``: RetinaNet on the face set, method ``clskd``.
``masks``: Mask R-CNN on the shapes set (box and mask mAP), methods ``reviewkd``,
``reviewkd_maskkd`` (both by default).
``bccd``: Faster R-CNN on ImageNet-pretrained MobileNetV2 on the real BCCD set (read from
``../shared/data/bccd`` or ``--data-root``, a Pascal VOC root), methods ``reviewkd`` (default),
``hint``; the teacher trains 16 epochs by default.

Each stage runs ``tools/train.py`` as a user would (its log lines, with ETA, stream through);
the demo set is generated on first use. One teacher (seed 0) serves every student run; a teacher
already trained in ``WORK_DIR/teacher`` for the same number of epochs is reused. The student alone
and each method run once per seed (``randomness.seed``). All runs validate with COCO mAP at the
end; ``WORK_DIR`` gets ``results.md`` (mean ± sd over seeds, delta and gap recovered),
``map_by_model.png`` and ``loss_curves.png``. ``--quick``: 1 epoch on 16 images, a smoke run.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

from mmkd.apis.report import (final_metrics, loss_curve, plot_losses, plot_map,
                              results_table)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
TASKS = {
    'shapes': dict(
        teacher=('frcnn_r18w32_teacher_shapes.py', 'teacher (Faster R-CNN R18 w32, FPN 64)'),
        student=('frcnn_r18w8_student_shapes.py', 'student (Faster R-CNN R18 w8, FPN 32)'),
        methods=dict(reviewkd=('reviewkd_frcnn.py', 'student + ReviewKD'),
                     hint=('hint_frcnn.py', 'student + hint KD (Chen et al.)')),
        default_methods=['reviewkd']),
    'faces': dict(
        teacher=('retinanet_r18w32_teacher_faces.py', 'teacher (RetinaNet R18 w32, FPN 64)'),
        student=('retinanet_r18w8_student_faces.py', 'student (RetinaNet R18 w8, FPN 32)'),
        methods=dict(clskd=('clskd_retinanet_face.py', 'student + ClsMapKD (seed mining)')),
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
                     hint=('hint_frcnn_mv2_bccd.py', 'student + hint KD (Chen et al.)')),
        default_methods=['reviewkd'], teacher_epochs=16, voc=True),
}


def train(name, config, work_dir, epochs, options=(), train_images=None, report_only=False):
    """Run tools/train.py for ``epochs`` epochs; returns the final COCO metrics and the minutes
    the run took (kept in ``STAGE_DIR/demo_stage.json``, which ``report_only`` reads back
    instead of training)."""
    stage_dir = osp.join(work_dir, name)
    record = osp.join(stage_dir, 'demo_stage.json')
    if report_only:
        minutes = None
        if osp.isfile(record):
            with open(record) as f:
                minutes = json.load(f)['train_minutes']
        return dict(final_metrics(stage_dir), train_minutes=minutes)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', stage_dir,
           '--cfg-options', f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
           f'param_scheduler.1.end={epochs}',
           f'param_scheduler.1.milestones=[{int(epochs * 0.75)}]', *options]
    if train_images:
        cmd.append(f'train_dataloader.dataset.indices={train_images}')
    print(f'\n=== {name}: {osp.relpath(config, ROOT)}, {epochs} epochs ===', flush=True)
    start = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    minutes = round((time.time() - start) / 60, 1)
    with open(record, 'w') as f:
        json.dump(dict(train_minutes=minutes, epochs=epochs), f)
    return dict(final_metrics(stage_dir), train_minutes=minutes)


def teacher_stage(config, work_dir, epochs, train_images=None, options=(), report_only=False):
    """Train the teacher unless ``WORK_DIR/teacher`` already holds one of ``epochs`` epochs."""
    checkpoint = osp.join(work_dir, 'teacher', f'epoch_{epochs}.pth')
    if report_only:
        if not osp.isfile(checkpoint):
            raise SystemExit(f'--report-only: no teacher at {checkpoint}')
        return checkpoint, train('teacher', config, work_dir, epochs, report_only=True)
    if not osp.isfile(checkpoint):
        return checkpoint, train('teacher', config, work_dir, epochs, options, train_images)
    print(f'=== teacher: reusing {checkpoint} ===', flush=True)
    metrics = dict(final_metrics(osp.join(work_dir, 'teacher')), train_minutes='reused')
    return checkpoint, metrics


def data_root_options(data_root, voc=False):
    """--cfg-options that point every split and the evaluators at ``data_root``: the generated
    set's folder, or (``voc``) a Pascal VOC root whose COCO JSON goes to ``data/<its name>/``."""
    root = data_root.rstrip('/') + '/'
    splits = ('train', 'val', 'test')
    if voc:
        ann_dir = osp.join('data', osp.basename(root.rstrip('/'))) + '/'
        return ([f'{split}_dataloader.dataset.data_prefix.img={root}' for split in splits]
                + [f'{split}_dataloader.dataset.ann_file={ann_dir}{split}.json' for split in splits]
                + [f'{split}_evaluator.ann_file={ann_dir}{split}.json' for split in ('val', 'test')])
    options = [f'{split}_dataloader.dataset.data_root={root}' for split in splits]
    return options + [f'{split}_evaluator.ann_file={root}annotations/val.json'
                      for split in ('val', 'test')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', nargs='+', choices=sorted(TASKS), default=['shapes'],
                        help='one or more tasks, run one after the other (default: shapes)')
    parser.add_argument('--methods', nargs='+',
                        help='distillation runs to compare with the student alone, each run on '
                        'the tasks that have it; default: '
                        + '; '.join(f'{t}: {" ".join(c["default_methods"])}'
                                    for t, c in TASKS.items()))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='one run of the student and of each method per seed')
    parser.add_argument('--work-dir', help='default work_dirs/demo_TASK; with several tasks, '
                        'WORK_DIR/TASK')
    parser.add_argument('--teacher-epochs', type=int,
                        help='default 12 (bccd: 16)')
    parser.add_argument('--student-epochs', type=int, default=12)
    parser.add_argument('--train-images', type=int,
                        help='train on the first N training images only (default: all)')
    parser.add_argument('--data-root', help='generate and read the data set here (default: the '
                        'config\'s, data/<set>/); bccd: the Pascal VOC root (default '
                        '../shared/data/bccd); one task only')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 1 epoch each on 16 training images')
    parser.add_argument('--report-only', action='store_true',
                        help='rebuild results.md and the plots from the runs in the work dir')
    args = parser.parse_args()
    if args.methods:
        offered = set().union(*(TASKS[t]['methods'] for t in args.task))
        if set(args.methods) - offered:
            parser.error(f'--methods {sorted(set(args.methods) - offered)}: task(s) '
                         f'{" ".join(args.task)} offer {sorted(offered)}')
    if args.data_root and len(args.task) > 1:
        parser.error('--data-root is for one task at a time')
    if args.quick:
        args.teacher_epochs = args.student_epochs = 1
        args.train_images = args.train_images or 16
    started = time.time()
    for name in args.task:
        run_task(name, args, several=len(args.task) > 1)
    if len(args.task) > 1:
        print(f'\nall tasks: {(time.time() - started) / 60:.1f} minutes')


def run_task(name, args, several=False):
    """Teacher, student and the methods of task ``name``; writes WORK_DIR/results.md and plots."""
    task = TASKS[name]
    methods = [m for m in args.methods or task['default_methods'] if m in task['methods']]
    teacher_epochs = args.teacher_epochs or task.get('teacher_epochs', 12)
    work_dir = osp.join(ROOT, 'work_dirs', f'demo_{name}' + ('_quick' if args.quick else ''))
    if args.work_dir:
        work_dir = osp.join(args.work_dir, name) if several else args.work_dir
    common = data_root_options(args.data_root, task.get('voc')) if args.data_root else []

    (teacher_config, teacher_label), (student_config, student_label) = \
        task['teacher'], task['student']
    teacher_ckpt, teacher = teacher_stage(osp.join(CONFIGS, teacher_config), work_dir,
                                          teacher_epochs, args.train_images,
                                          common + ['randomness.seed=0'], args.report_only)
    stages = [('student', student_config, student_label, [])] + [
        (f'student_{m}', task['methods'][m][0], task['methods'][m][1],
         [f'model.teacher.checkpoint={teacher_ckpt}']) for m in methods]
    rows, curves = [(teacher_label, [teacher])], {}
    for stage, config, label, options in stages:
        runs = [train(f'{stage}_seed{seed}', osp.join(CONFIGS, config), work_dir,
                      args.student_epochs, common + options + [f'randomness.seed={seed}'],
                      args.train_images, args.report_only) for seed in args.seeds]
        rows.append((label, runs))
        curves[label] = [loss_curve(osp.join(work_dir, f'{stage}_seed{seed}'))
                         for seed in args.seeds]

    result = results_table(rows)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(result + '\n')
    plot_map(rows, osp.join(work_dir, 'map_by_model.png'))
    plot_losses(curves, osp.join(work_dir, 'loss_curves.png'))
    print(f'\nCOCO mAP on the {name} val set ({args.student_epochs} student epochs, '
          f'{teacher_epochs} teacher epochs, seeds {args.seeds}):\n{result}\n'
          f'(also in {osp.join(work_dir, "results.md")}, with map_by_model.png and '
          f'loss_curves.png)')


if __name__ == '__main__':
    main()
