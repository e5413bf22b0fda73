"""The demo: teacher, student alone and distilled students on embedded data, one table.

    python tools/demo.py [--task shapes|faces] [--methods ...] [--work-dir work_dirs/demo_TASK]
                         [--teacher-epochs 12] [--student-epochs 12]

``shapes`` (default): Faster R-CNN on the shapes set, methods ``reviewkd`` (default), ``hint``.
``faces``: RetinaNet on the face set, method ``clskd``.
``masks``: Mask R-CNN on the shapes set (box and mask mAP), methods ``reviewkd``,
``reviewkd_maskkd`` (both by default).

Each stage runs ``tools/train.py`` as a user would (its log lines, with ETA, stream through);
the demo set is generated on first use. A teacher already trained in ``WORK_DIR/teacher`` for the
same number of epochs is reused. All runs validate with COCO box mAP at the end.
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys
import time

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
}


def final_metrics(work_dir):
    """The last COCO validation of the newest run in ``work_dir`` (from mmengine's scalars)."""
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'no validation log in {work_dir}')
    with open(runs[-1]) as f:
        records = [json.loads(line) for line in f if 'coco/bbox_mAP' in line]
    if not records:
        raise RuntimeError(f'{runs[-1]} holds no coco/bbox_mAP: did validation run?')
    return {key: value for key, value in records[-1].items() if key.startswith('coco/')}


def train(name, config, work_dir, epochs, options=(), train_images=None):
    """Run tools/train.py for ``epochs`` epochs; returns the final COCO metrics."""
    stage_dir = osp.join(work_dir, name)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', stage_dir,
           '--cfg-options', f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
           f'param_scheduler.1.end={epochs}',
           f'param_scheduler.1.milestones=[{int(epochs * 0.75)}]', *options]
    if train_images:
        cmd.append(f'train_dataloader.dataset.indices={train_images}')
    print(f'\n=== {name}: {osp.relpath(config, ROOT)}, {epochs} epochs ===', flush=True)
    start = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return dict(final_metrics(stage_dir), train_minutes=round((time.time() - start) / 60, 1))


def teacher_stage(config, work_dir, epochs, train_images=None):
    """Train the teacher unless ``WORK_DIR/teacher`` already holds one of ``epochs`` epochs."""
    checkpoint = osp.join(work_dir, 'teacher', f'epoch_{epochs}.pth')
    if not osp.isfile(checkpoint):
        return checkpoint, train('teacher', config, work_dir, epochs, train_images=train_images)
    print(f'=== teacher: reusing {checkpoint} ===', flush=True)
    metrics = dict(final_metrics(osp.join(work_dir, 'teacher')), train_minutes='reused')
    return checkpoint, metrics


COLUMNS = [('box mAP', 'coco/bbox_mAP'), ('mAP50', 'coco/bbox_mAP_50'),
           ('mAP_s', 'coco/bbox_mAP_s'), ('mAP_m', 'coco/bbox_mAP_m'),
           ('mask mAP', 'coco/segm_mAP')]


def table(rows):
    """Markdown table of the runs; gap recovered = (KD - student) / (teacher - student)."""
    teacher, student = rows[0][1], rows[1][1]
    columns = [(title, key) for title, key in COLUMNS if key in teacher]
    lines = ['| model | ' + ' | '.join(title for title, _ in columns) +
             ' | gap recovered (box) | train min |', '|---' * (len(columns) + 3) + '|']
    for name, m in rows:
        gap = ''
        if name.startswith('student +') and teacher['coco/bbox_mAP'] > student['coco/bbox_mAP']:
            gap = (m['coco/bbox_mAP'] - student['coco/bbox_mAP']) / \
                (teacher['coco/bbox_mAP'] - student['coco/bbox_mAP'])
            gap = f'{100 * gap:.0f}%'
        values = ' | '.join(f'{m[key]:.3f}' for _, key in columns)
        lines.append(f'| {name} | {values} | {gap} | {m["train_minutes"]} |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=sorted(TASKS), default='shapes')
    parser.add_argument('--methods', nargs='+',
                        help='distillation runs to compare with the student alone; default: '
                        + '; '.join(f'{t}: {" ".join(c["default_methods"])}'
                                    for t, c in TASKS.items()))
    parser.add_argument('--work-dir', help='default work_dirs/demo_TASK')
    parser.add_argument('--teacher-epochs', type=int, default=12)
    parser.add_argument('--student-epochs', type=int, default=12)
    parser.add_argument('--train-images', type=int,
                        help='train on the first N training images only (default: all)')
    args = parser.parse_args()
    task = TASKS[args.task]
    methods = args.methods or task['default_methods']
    unknown = set(methods) - set(task['methods'])
    if unknown:
        parser.error(f'--methods {sorted(unknown)}: task {args.task} has {sorted(task["methods"])}')
    args.work_dir = args.work_dir or osp.join(ROOT, 'work_dirs', f'demo_{args.task}')

    (teacher_config, teacher_label), (student_config, student_label) = \
        task['teacher'], task['student']
    teacher_ckpt, teacher = teacher_stage(osp.join(CONFIGS, teacher_config), args.work_dir,
                                          args.teacher_epochs, args.train_images)
    rows = [(teacher_label, teacher),
            (student_label, train('student', osp.join(CONFIGS, student_config), args.work_dir,
                                  args.student_epochs, train_images=args.train_images))]
    for method in methods:
        config, label = task['methods'][method]
        rows.append((label, train(f'student_{method}', osp.join(CONFIGS, config), args.work_dir,
                                  args.student_epochs,
                                  [f'model.teacher.checkpoint={teacher_ckpt}'],
                                  args.train_images)))
    result = table(rows)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(result + '\n')
    print(f'\nCOCO box mAP on the demo val set ({args.student_epochs} student epochs, '
          f'{args.teacher_epochs} teacher epochs):\n{result}\n'
          f'(also in {osp.join(args.work_dir, "results.md")})')


if __name__ == '__main__':
    main()
