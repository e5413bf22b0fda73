"""Know before you train: the pairing, the teacher on your data, the loss scales, pictures.

    python tools/inspect_distill.py CONFIG [--val-images N] [--checkpoint CKPT]
                                    [--student-checkpoint CKPT] [--batches B] [--pictures K]
                                    [--out DIR] [--cfg-options k=v ...]

Prints, as tables:

1. per distiller, what it reads in each model, the levels it pairs (stride, channels), its
   connectors' size and what the teacher runs for it;
2. COCO box mAP on the first N validation images of the config (default 50) of the teacher
   (of each, for ``model.teachers``), of the distiller's student (at initialisation, or from
   ``--checkpoint``, a checkpoint of this config) and, with ``--student-checkpoint`` (a student
   trained alone, say), of that student; a warning naming the teacher's config key when it
   scores under 0.01 (likely causes named), predicts another class count than the data set's,
   or does not beat that student;
3. each distill loss next to the detection losses over B training batches (default 3), with a
   warning and the config key when a term is over 50x or under 0.01x the detection total;
   a term its distiller names bounded (``bounded_losses``: Chen et al.'s teacher-bounded
   regression, zero where the student already beats the teacher) gets a note instead, as its
   size is not a weight to tune.

Writes the same to ``DIR/inspect.md`` (default ``work_dirs/inspect_<config>``) with PNGs of K
validation images (default 2): per level-pairing distiller, the teacher's map, the student's
through its connector and their difference; for ClsMapKD the anchors its mining rule selects,
over the image; ground truth, teacher and student detections side by side, each panel under
its title ("ground truth", "teacher" or "teacher 0", "teacher 1", ..., "student").
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmkd.apis.inspect import draw_pictures, loss_scale_table, pairing_table, teacher_table
from mmkd.utils import (check_dataset_files, config_argument, load_checkpoint_strict,
                        load_run_config)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=config_argument, help='a distillation config')
    parser.add_argument('--val-images', type=int, default=50,
                        help='validation images the models are scored on (default 50)')
    parser.add_argument('--checkpoint',
                        help='a checkpoint of this distillation config (student and connectors) '
                        'to inspect instead of the initialisation')
    parser.add_argument('--student-checkpoint',
                        help='a trained student (alone or distilled) to score next to the teacher')
    parser.add_argument('--batches', type=int, default=3,
                        help='training batches the loss scales are averaged over (default 3)')
    parser.add_argument('--pictures', type=int, default=2,
                        help='validation images drawn (default 2; 0: no pictures)')
    parser.add_argument('--out', help='default work_dirs/inspect_<config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as for tools/train.py')
    return parser.parse_args()


def main():
    import torch
    from mmdet.registry import MODELS
    args = parse_args()
    name = osp.splitext(osp.basename(args.config))[0]
    out = args.out or osp.join('work_dirs', f'inspect_{name}')
    os.makedirs(out, exist_ok=True)
    cfg = load_run_config(args.config, args.cfg_options, out)
    if cfg.model.get('type') != 'mmkd.DistillDetector':
        raise SystemExit(f'{args.config}: model.type is {cfg.model.get("type")!r}, not '
                         "'mmkd.DistillDetector': give a distillation config")
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    check_dataset_files(cfg, splits=('train', 'val'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)    # init_weights logs every tensor
    model.init_weights()
    logger.setLevel(level)
    if args.checkpoint:
        load_checkpoint_strict(model, args.checkpoint, config_key='--checkpoint')

    tables = [pairing_table(model),
              teacher_table(cfg, model, args.val_images, args.student_checkpoint),
              loss_scale_table(cfg, model, args.batches)]
    report = f'# {args.config}\n\n' + '\n'.join(table.markdown() for table in tables)
    if args.pictures:
        pictures = draw_pictures(model, cfg, out, args.pictures)
        report += '\n## Pictures\n\n' + '\n'.join(
            f'![{osp.basename(p)}]({osp.basename(p)})' for p in pictures) + '\n'
    with open(osp.join(out, 'inspect.md'), 'w') as f:
        f.write(report)
    print(report)
    print(f'(written to {osp.join(out, "inspect.md")}, with the pictures)')


if __name__ == '__main__':
    main()
