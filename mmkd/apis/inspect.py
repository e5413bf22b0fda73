"""Know before you train: what a distillation config pairs, whether its teacher is any good on
the config's own data, how its distill losses compare with the detection losses, and pictures
of what is distilled. ``tools/inspect_distill.py`` prints and saves what these return."""
import copy
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from torch import nn


TEACHER_MAP_FLOOR = 0.01        # a teacher under this box mAP is broken, not weak
# distill term / detection total outside this: flagged. The upper end is past the ratios the
# recipe search tries (features up to 40x: the BCCD default's PKD term is 39x and helps there).
LOSS_RATIO_RANGE = (0.01, 50.0)


@dataclass
class Table:
    """A titled table (markdown when printed), and the warnings that go with it."""
    title: str
    header: List[str]
    rows: List[list] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f'## {self.title}', '', '| ' + ' | '.join(self.header) + ' |',
                 '|' + '---|' * len(self.header)]
        lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in self.rows]
        lines += [''] + [f'**WARNING** {warning}' for warning in self.warnings]
        lines += [f'**NOTE** {note}' for note in self.notes]
        return '\n'.join(lines) + '\n'


def _parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def pairing_table(model) -> Table:
    """Per distiller (a :class:`~mmkd.models.DistillDetector`'s): the modules it reads in each
    model, the levels it pairs (stride, channels), its connectors' parameter count and what the
    teacher runs for it."""
    from mmkd.models.teacher import probe_features
    with model.student_taps.recording(require_all=False) as student_records:
        probe_features(model.student)
    probes = []
    for teacher in model.teachers:
        with teacher.taps.recording(require_all=False) as teacher_records:
            probe_features(teacher.detector)
        probes.append(teacher_records)
    table = Table('Pairing', ['distiller', 'student reads', 'teacher reads', 'levels paired',
                              'connector parameters', 'the teacher runs'])
    for index, (distiller, read) in enumerate(zip(model.distillers, model.teachers_read)):
        levels = []
        for pair in getattr(distiller, 'pairs', []):
            student = student_records[distiller.student_taps['feats']][pair.student]
            teacher = probes[read[0]][distiller.teacher_taps['feats']][pair.teacher]
            levels.append(f'stride {pair.stride}: {student.shape[1]} -> {teacher.shape[1]} ch')
        which = '' if len(model.teachers) == 1 else (
            f'teacher {read[0]}: ' if len(read) == 1 else 'the mean of the teachers: ')
        table.rows.append([f'[{index}] {type(distiller).__name__}',
                           ', '.join(distiller.student_taps.values()),
                           which + ', '.join(distiller.teacher_taps.values()),
                           '; '.join(levels) or '-', f'{_parameter_count(distiller):,}',
                           distiller.teacher_work])
    return table


def subset_loader(dataloader_cfg, num_images: int):
    """A dataloader of ``dataloader_cfg`` over its first ``num_images`` images, in order."""
    cfg = copy.deepcopy(dataloader_cfg)
    cfg.dataset.indices = num_images
    cfg.update(num_workers=0, persistent_workers=False)
    cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    return Runner.build_dataloader(cfg)


def coco_map(detector: nn.Module, dataloader, evaluator_cfg) -> Dict[str, float]:
    """The evaluator's metrics of ``detector`` (its own ``test_step``: its own preprocessing)
    on the images of ``dataloader`` only."""
    evaluator = Evaluator(copy.deepcopy(evaluator_cfg))
    evaluator.dataset_meta = dataloader.dataset.metainfo
    detector.eval()
    image_ids = []
    with torch.no_grad():
        for data in dataloader:
            outputs = detector.test_step(data)
            image_ids += [sample.img_id for sample in outputs]
            evaluator.process(data_samples=outputs, data_batch=data)
    for metric in evaluator.metrics:
        if hasattr(metric, 'img_ids'):   # CocoMetric: score these images, not the whole file
            metric.img_ids = image_ids
    return evaluator.evaluate(len(dataloader.dataset))


def head_classes(detector: nn.Module) -> Optional[int]:
    """The class count of a detector's box head (two-stage or dense), None if it has none."""
    roi_head = getattr(detector, 'roi_head', None)
    head = getattr(roi_head, 'bbox_head', None) or getattr(detector, 'bbox_head', None)
    if isinstance(head, nn.ModuleList):      # cascades: the last stage
        head = head[-1]
    return getattr(head, 'num_classes', None)


def load_student(cfg, checkpoint: str) -> nn.Module:
    """The student of ``cfg`` with the weights of ``checkpoint``: a student trained alone
    (mmdet keys) or a distilled one (keys under ``student.``)."""
    from mmdet.registry import MODELS
    from mmkd.apis.export import load_student_weights
    from mmkd.models.teacher import load_model_config
    student = MODELS.build(load_model_config(cfg.model.student, 'model.student'))
    load_student_weights(student, checkpoint, '--student-checkpoint')
    return student


def teacher_names(model) -> List[str]:
    """How tables and pictures name the teachers: ``teacher``, or ``teacher 0``, ``teacher 1``,
    ... where there are several."""
    several = len(model.teachers) > 1
    return [f'teacher {index}' if several else 'teacher' for index in range(len(model.teachers))]


def _teacher_warnings(name: str, key: str, checkpoint: str, teacher_map: float,
                      teacher_classes: Optional[int], classes: int) -> List[str]:
    """What is wrong with teacher ``name`` (config key ``key``) on the data set, with causes."""
    warnings = []
    if teacher_classes is not None and teacher_classes != classes:
        warnings.append(f'{name} predicts {teacher_classes} classes, the data set has '
                        f'{classes}: its class scores do not mean the data set\'s classes '
                        f'({key}.config)')
    if not teacher_map >= TEACHER_MAP_FLOOR:
        causes = [f'a class count other than the data set\'s: {name} predicts '
                  f'{teacher_classes} classes, the data set has {classes}'
                  if teacher_classes != classes else
                  f'the class count matches ({classes})',
                  f'a checkpoint of another model or data set ({key}.checkpoint={checkpoint})',
                  'preprocessing other than the teacher was trained with (its '
                  'data_preprocessor: mean, std, bgr_to_rgb)']
        warnings.append(f'{name} scores {teacher_map:.3f} box mAP, under {TEACHER_MAP_FLOOR}: '
                        'it has nothing to teach. Likely causes: ' + '; '.join(causes) + '.')
    return warnings


def teacher_table(cfg, model, num_images: int, student_checkpoint: Optional[str] = None) -> Table:
    """COCO box mAP on the first ``num_images`` validation images of the config: each teacher,
    the distiller's student (at initialisation, or as loaded) and, given
    ``student_checkpoint``, a trained student.
    Warns when a teacher is under :data:`TEACHER_MAP_FLOOR` (with the likely causes) or predicts
    another class count than the data set's, and when it does not beat the trained student."""
    loader = subset_loader(cfg.val_dataloader, num_images)
    several = len(model.teachers) > 1
    teachers = list(zip(teacher_names(model), model.teachers))
    scored = [(name, teacher.detector) for name, teacher in teachers]
    scored.append(('student in the distiller', model))
    if student_checkpoint:
        scored.append((f'student from {student_checkpoint}', load_student(cfg, student_checkpoint)))
    table = Table(f'The teacher{"s" if several else ""} on {len(loader.dataset)} validation '
                  'images of the config', ['model', 'box mAP', 'mAP50', 'classes'])
    results = {}
    classes = len(loader.dataset.metainfo['classes'])
    for name, detector in scored:
        # mmdet's CocoMetric returns nothing when no box passed the score threshold
        metrics = coco_map(detector, loader, cfg.val_evaluator) or {
            'coco/bbox_mAP': 0.0, 'coco/bbox_mAP_50': 0.0}
        results[name] = metrics.get('coco/bbox_mAP', float('nan'))
        table.rows.append([name, f'{results[name]:.3f}',
                           f'{metrics.get("coco/bbox_mAP_50", float("nan")):.3f}',
                           head_classes(getattr(detector, 'student', detector))])
    listed = cfg.model.get('teachers')         # model.teachers, even of one, else model.teacher
    for index, (name, teacher) in enumerate(teachers):
        key = f'model.teachers[{index}]' if listed else 'model.teacher'
        checkpoint = (listed[index] if listed else cfg.model.teacher).checkpoint
        table.warnings += _teacher_warnings(f'the {name}', key, checkpoint, results[name],
                                            head_classes(teacher.detector), classes)
        if student_checkpoint and not results[name] > results[scored[-1][0]]:
            table.warnings.append(
                f'the {name} ({results[name]:.3f}) does not beat the trained student '
                f'({results[scored[-1][0]]:.3f}): distilling from it is likely to make the '
                'student worse. Train the teacher longer or take a stronger one.')
    return table


def _sum(value) -> float:
    return float(sum(value)) if isinstance(value, (list, tuple)) else float(value)


def loss_scale_table(cfg, model, batches: int = 3) -> Table:
    """Each distill loss next to the student's detection losses, averaged over the first
    ``batches`` training batches with the model's current weights (under ``no_grad``). A distill
    term outside :data:`LOSS_RATIO_RANGE` times the detection total is flagged with the config
    key that sets its weight, unless the distiller names it among its ``bounded_losses`` (zero
    where the student already beats the teacher): the size of such a term says where the bound
    is active, not how much it weighs, so it gets a note instead of a weight to set."""
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    model.train()
    totals: Dict[str, float] = {}
    owner: Dict[str, int] = {}
    bounded = set()
    with torch.no_grad():
        for _, data in zip(range(batches), loader):
            data = model.data_preprocessor(data, True)
            step = model.distill_step(data['inputs'], data['data_samples'])
            for index, distiller in enumerate(model.distillers):
                for name in distiller(step.student_records[index], step.teacher_records[index]):
                    owner[model.loss_prefixes[index] + name] = index
                    if name in distiller.bounded_losses:
                        bounded.add(model.loss_prefixes[index] + name)
            for name, value in step.losses.items():
                if 'loss' in name:
                    totals[name] = totals.get(name, 0.0) + _sum(value) / batches
    detection = sum(v for k, v in totals.items() if k not in owner)
    table = Table(f'Loss scales ({batches} training batches, the current weights)',
                  ['loss', 'from', 'value', 'x detection total'])
    for name, value in totals.items():
        source = (f'model.distillers.{owner[name]} ({type(model.distillers[owner[name]]).__name__})'
                  if name in owner else 'student')
        ratio = value / detection if detection else float('nan')
        table.rows.append([name, source, f'{value:.4g}', '' if name not in owner else
                           f'{ratio:.3g}' + (' (bounded)' if name in bounded else '')])
        low, high = LOSS_RATIO_RANGE
        if name in bounded and not low <= ratio <= high:
            table.notes.append(
                f'{name} is {ratio:.3g}x the detection losses: bounded term, zero where the '
                'student already beats the teacher '
                f'({type(model.distillers[owner[name]]).__name__}.bounded_losses); its size is '
                'not a weight to tune')
        elif name in owner and not low <= ratio <= high:
            distiller = model.distillers[owner[name]]
            key = f'model.distillers.{owner[name]}.loss_weight'
            if ratio == 0:
                advice = ('it is 0 on these batches, so it teaches nothing here: check the '
                          'teacher (a random one mines nothing for ClsMapKD) and the pairing')
            elif distiller.relative_weight is not None:
                advice = (f'set {key}.ratio (now {distiller.relative_weight.ratio:g}) '
                          'within that range, or check the pairing')
            else:
                advice = (f'set {key} (now {distiller.loss_weight}) to about '
                          f'{distiller.loss_weight / ratio:.3g} for 1x, or check the pairing; '
                          'which ratio helps is for the data to say: tools/search_recipe.py '
                          'tries 0.1-40x')
            table.warnings.append(f'{name} is {ratio:.3g}x the detection losses '
                                  f'({detection:.4g}), outside {low}-{high}x: {advice}')
    table.rows.append(['detection total', 'student', f'{detection:.4g}', '1'])
    return table


def _activation(feature: torch.Tensor) -> np.ndarray:
    """(C, H, W) -> (H, W): the channel mean of absolute activations."""
    return feature.abs().mean(0).float().cpu().numpy()


def _records_on_val(model, cfg, num_images: int):
    """The first ``num_images`` validation images through both models in eval mode: returns
    (the preprocessed batch, per distiller the student's and the teacher's ``{role: record}``).
    The student runs its backbone and neck, and the dense heads that distillers tap; the teacher
    its backbone and neck, plus ``teacher_forward`` for distillers that read only taps (the
    ones that need the student's RoIs are left without)."""
    from mmkd.models.taps import records_by_role
    loader = subset_loader(cfg.val_dataloader, num_images)
    data = model.data_preprocessor(next(iter(loader)), False)
    model.eval()
    head_paths = {path for d in model.distillers for role, path in d.student_taps.items()
                  if role == 'outputs'}
    with torch.no_grad():
        with model.student_taps.recording(require_all=False) as tapped:
            feats = model.student.extract_feat(data['inputs'])
            for path in head_paths:
                model.student.get_submodule(path)(feats)
        if 'loss' in model.student_taps.taps:   # what a tap on the student's loss (FGD's
            tapped['loss'] = dict(result=None, inputs=dict(   # boxes) records in training
                batch_inputs=data['inputs'], batch_data_samples=data['data_samples']))
        students = [records_by_role(d.student_taps, tapped) for d in model.distillers]
        features = model.teacher_features(data['inputs'], data['data_samples'])
        teachers = [model.read_teachers(index, student, features, data['inputs'].device,
                                        forward=set(student) == set(distiller.student_taps))
                    for index, (distiller, student) in enumerate(zip(model.distillers,
                                                                     students))]
    return data, students, teachers


def _save(figure, path: str) -> str:
    import matplotlib.pyplot as plt
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def draw_levels(model, cfg, out_dir: str, num_images: int = 2, records=None) -> List[str]:
    """PNGs of what each level-pairing distiller compares, for the first ``num_images``
    validation images: per paired level the teacher's map, the student's through its connector
    and their difference (channel means of absolute activations). ``records``: what
    ``_records_on_val`` returned, when the caller has it already. Returns the files
    written."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    data, students, teachers = records or _records_on_val(model, cfg, num_images)
    written = []
    with torch.no_grad():
        levels = [d.aligned_levels(s, t) if set(s) == set(d.student_taps) else []
                  for d, s, t in zip(model.distillers, students, teachers)]
    for index, (distiller, pairs) in enumerate(zip(model.distillers, levels)):
        for image in range(len(data['data_samples']) if pairs else 0):
            figure, axes = plt.subplots(len(pairs), 3, figsize=(9, 3 * len(pairs)),
                                        squeeze=False)
            for row, (pair, student, teacher) in enumerate(pairs):
                maps = [_activation(teacher[image]), _activation(student[image]),
                        _activation(student[image] - teacher[image])]
                top = max(m.max() for m in maps[:2])
                for col, (title, shown) in enumerate(zip(
                        ('teacher', 'student through connector', '|student - teacher|'), maps)):
                    axes[row, col].imshow(shown, cmap='viridis', vmin=0, vmax=top)
                    axes[row, col].set_title(f'stride {pair.stride}: {title}', fontsize=9)
                    axes[row, col].axis('off')
            figure.suptitle(f'model.distillers.{index} ({type(distiller).__name__}), '
                            f'{osp.basename(data["data_samples"][image].img_path)}; channel '
                            'mean of |activation|, one colour scale per row')
            written.append(_save(figure, osp.join(
                out_dir, f'levels_{index}_{type(distiller).__name__}_{image}.png')))
    return written


def draw_mining(model, cfg, out_dir: str, num_images: int = 2, records=None) -> List[str]:
    """PNGs of where each anchor-mining distiller (``ClsMapKD``) mimics the teacher, for the
    first ``num_images`` validation images: per level, the image under the fraction of each
    place's anchors the rule selects. ``records`` as for :func:`draw_levels`. Returns the files
    written."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import mmcv
    miners = [i for i, d in enumerate(model.distillers) if hasattr(d, 'mined_locations')]
    if not miners:
        return []
    data, students, teachers = records or _records_on_val(model, cfg, num_images)
    written = []
    for index in miners:
        distiller = model.distillers[index]
        head = model.student.get_submodule(distiller.student_taps['outputs'])
        strides = [stride[0] for stride in head.prior_generator.strides]
        with torch.no_grad():
            levels = distiller.mined_locations(students[index], teachers[index])
        for image, sample in enumerate(data['data_samples']):
            height, width = sample.img_shape
            picture = mmcv.imresize(mmcv.imread(sample.img_path, channel_order='rgb'),
                                    (width, height))
            figure, axes = plt.subplots(1, len(levels), figsize=(3 * len(levels), 3.4),
                                        squeeze=False)
            for axis, level, stride in zip(axes[0], levels, strides):
                mined = level[image].cpu().numpy()
                axis.imshow(picture)
                axis.imshow(mined, cmap='Reds', vmin=0, vmax=1, alpha=0.55,
                            extent=(0, mined.shape[1] * stride, mined.shape[0] * stride, 0))
                axis.set_xlim(0, width)
                axis.set_ylim(height, 0)
                axis.set_title(f'stride {stride}: {mined.mean():.1%} mined', fontsize=9)
                axis.axis('off')
            figure.suptitle(f'model.distillers.{index} ({type(distiller).__name__}, mode='
                            f'{distiller.mode!r}): anchors mimicked, red = all of a place\'s')
            written.append(_save(figure, osp.join(
                out_dir, f'mining_{index}_{type(distiller).__name__}_{image}.png')))
    return written


def detection_titles(model) -> List[str]:
    """The titles of the panels of :func:`draw_detections`, left to right: ``ground truth``,
    the teachers (:func:`teacher_names`), ``student``."""
    return ['ground truth'] + teacher_names(model) + ['student']


def title_strip(title: str, width: int, height: int) -> np.ndarray:
    """A white (rows, ``width``, 3) uint8 strip with ``title`` in black, to go above a panel
    of ``height`` x ``width`` pixels; text and rows grow with the panel's size (the rows do
    not depend on the title, so that the panels of a picture line up)."""
    import cv2
    scale = max(0.45, min(width, height) / 400)
    (_, text_height), baseline = cv2.getTextSize('Hg', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    rows = text_height + baseline + 8
    strip = np.full((rows, width, 3), 255, np.uint8)
    cv2.putText(strip, title, (4, rows - baseline - 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def draw_detections(model, cfg, out_dir: str, num_images: int = 2,
                    score_thr: float = 0.3) -> List[str]:
    """The ground truth, each teacher's and the student's detections side by side on the
    first ``num_images`` validation images (mmdet's ``DetLocalVisualizer``), each panel under
    its title (:func:`detection_titles`, drawn by :func:`title_strip`). Returns the files
    written."""
    from mmdet.visualization import DetLocalVisualizer
    import mmcv
    loader = subset_loader(cfg.val_dataloader, num_images)
    data = next(iter(loader))
    visualizer = DetLocalVisualizer(name=f'mmkd_inspect_{id(model)}')
    visualizer.dataset_meta = loader.dataset.metainfo
    titles = detection_titles(model)
    with torch.no_grad():
        predictions = [teacher.detector.eval().test_step(data) for teacher in model.teachers]
        predictions.append(model.eval().test_step(data))
    written = []
    for image, sample in enumerate(data['data_samples']):
        picture = mmcv.imconvert(mmcv.imread(sample.img_path), 'bgr', 'rgb')
        panels = []
        # the ground truth alone, then each model's predictions alone (in the original pixels)
        for index, (title, outputs) in enumerate(zip(titles, [predictions[0]] + predictions)):
            visualizer.add_datasample(title, picture, outputs[image], draw_gt=index == 0,
                                      draw_pred=index > 0, pred_score_thr=score_thr)
            panel = visualizer.get_image()
            panels.append(np.concatenate(
                [title_strip(title, panel.shape[1], panel.shape[0]), panel], axis=0))
        path = osp.join(out_dir, f'detections_{image}.png')
        mmcv.imwrite(np.concatenate(panels, axis=1)[..., ::-1], path)
        written.append(path)
    return written


def draw_pictures(model, cfg, out_dir: str, num_images: int = 2) -> List[str]:
    """Every picture of this module for the first ``num_images`` validation images: the paired
    levels, the mined anchors, the detections. Returns the files written."""
    records = _records_on_val(model, cfg, num_images)   # both models once, for both kinds
    return (draw_levels(model, cfg, out_dir, num_images, records)
            + draw_mining(model, cfg, out_dir, num_images, records)
            + draw_detections(model, cfg, out_dir, num_images))
