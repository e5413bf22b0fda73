"""Tables and plots of demo runs: COCO metrics of each model over seeds, and loss curves.

A run is the work dir of one ``tools/train.py`` call; its metrics are the last COCO validation
in mmengine's ``vis_data/scalars.json``.
"""
import glob
import json
import math
import os.path as osp
import statistics
import textwrap
from typing import Dict, List, Sequence, Tuple

COLUMNS = [('box mAP', 'coco/bbox_mAP'), ('mAP50', 'coco/bbox_mAP_50'),
           ('mAP_s', 'coco/bbox_mAP_s'), ('mAP_m', 'coco/bbox_mAP_m'),
           ('mask mAP', 'coco/segm_mAP')]
BOX = 'coco/bbox_mAP'

Rows = List[Tuple[str, List[dict]]]     # (model label, metrics of each seed's run)


def _scalars(run_dir: str) -> List[dict]:
    logs = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no training log in {run_dir}')
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f]


def final_metrics(run_dir: str) -> dict:
    """The last COCO validation of the newest run in ``run_dir``.

    A validation whose model detected nothing (mmdet's CocoMetric then logs an error and returns
    no metrics) counts as mAP 0 on every column, with ``no_detections=True``.
    """
    records = _scalars(run_dir)
    validations = [r for r in records if 'lr' not in r]      # training records carry the lr
    if not validations:
        raise RuntimeError(f'{run_dir} holds no validation: did it run?')
    return _coco_metrics(validations[-1])


def _coco_metrics(record: dict) -> dict:
    """The ``coco/`` entries of an evaluation record; all 0 with ``no_detections=True`` when
    the model detected nothing (mmdet's CocoMetric then logs an error and returns none)."""
    if BOX not in record:
        return dict({key: 0.0 for _, key in COLUMNS if key.startswith('coco/bbox')},
                    no_detections=True)
    return {key: value for key, value in record.items() if key.startswith('coco/')}


def validation_history(run_dir: str, metric: str = BOX) -> List[Tuple[int, float]]:
    """(epoch, ``metric``) of each validation the newest run in ``run_dir`` has logged so far,
    readable while it trains ([] before its first; a validation that detected nothing counts
    0)."""
    logs = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        return []
    history = []
    with open(logs[-1]) as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:       # the line being written
                continue
            if 'lr' not in record and 'step' in record:
                value = record.get(metric, 0.0 if metric.startswith('coco/') else None)
                if value is not None:
                    history.append((int(record['step']), float(value)))
    return history


def metrics_of_test_run(test_dir: str) -> dict:
    """The COCO metrics of the newest ``tools/test.py`` run in ``test_dir`` (mmengine writes
    them to ``<timestamp>/<timestamp>.json``), as :func:`final_metrics` reads a validation."""
    logs = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not logs:
        raise FileNotFoundError(f'no test run in {test_dir}')
    with open(logs[-1]) as f:
        return _coco_metrics(json.load(f))


def loss_curve(run_dir: str) -> Tuple[List[int], List[float]]:
    """(iteration, total training loss) as logged."""
    records = [r for r in _scalars(run_dir) if 'loss' in r and 'iter' in r]
    return [r['iter'] for r in records], [r['loss'] for r in records]


def mean_sd(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def gap_recovered(kd: float, student: float, teacher: float) -> float:
    """(KD - student) / (teacher - student); NaN when the teacher is not better."""
    return (kd - student) / (teacher - student) if teacher > student else float('nan')


def _cell(values: Sequence[float]) -> str:
    mean, sd = mean_sd(values)
    return f'{mean:.3f} ± {sd:.3f}' if len(values) > 1 else f'{mean:.3f}'


def results_table(rows: Rows, teachers: int = 1) -> str:
    """Markdown table; the first ``teachers`` rows are teachers (the gap is the first one's),
    the next the student alone, the rest KD.

    Delta is the KD mean minus the student mean in box mAP; it is marked *within seed spread*
    when it is no larger than the two standard deviations added (one seed: no spread known).
    A metric a run lacks (no detections at all) counts as 0.
    """
    (_, teacher), (_, student) = rows[0], rows[teachers]
    columns = [(title, key) for title, key in COLUMNS
               if any(key in run for _, runs in rows for run in runs)]
    lines = ['| model | seeds | ' + ' | '.join(title for title, _ in columns)
             + ' | delta box mAP | gap recovered | train min |',
             '|---' * (len(columns) + 5) + '|']
    teacher_box, student_box = (mean_sd(r[BOX] for r in runs) for runs in (teacher, student))
    for index, (label, runs) in enumerate(rows):
        values = ' | '.join(_cell([r.get(key, 0.0) for r in runs]) for _, key in columns)
        delta = gap = ''
        if index > teachers:
            kd_box = mean_sd(r[BOX] for r in runs)
            delta = f'{kd_box[0] - student_box[0]:+.3f}'
            if len(runs) > 1 and abs(kd_box[0] - student_box[0]) <= kd_box[1] + student_box[1]:
                delta += ' (within seed spread)'
            recovered = gap_recovered(kd_box[0], student_box[0], teacher_box[0])
            gap = '' if math.isnan(recovered) else f'{100 * recovered:.0f}%'
        minutes = [r.get('train_minutes') for r in runs]
        numbers = [m for m in minutes if isinstance(m, (int, float))]
        minutes = f'{statistics.fmean(numbers):.1f}' if numbers else (
            minutes[0] if isinstance(minutes[0], str) else '-')
        lines.append(f'| {label} | {len(runs)} | {values} | {delta} | {gap} | {minutes} |')
    return '\n'.join(lines)


def plot_map(rows: Rows, path: str, teachers: int = 1, split: str = 'val') -> None:
    """Bar per model: mean box mAP over seeds on ``split``, error bar one standard deviation;
    the first ``teachers`` rows grey, the student alone blue, the rest orange (as
    :func:`results_table`)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = [label for label, _ in rows]
    stats = [mean_sd(r[BOX] for r in runs) for _, runs in rows]
    fig, ax = plt.subplots(figsize=(1.6 + 1.8 * len(rows), 4))
    ax.bar(range(len(rows)), [m for m, _ in stats], yerr=[sd for _, sd in stats], capsize=6,
           color=['#888888'] * teachers + ['#4c72b0'] + ['#dd8452'] * (len(rows) - teachers - 1))
    ax.set_xticks(range(len(rows)), [textwrap.fill(label, 24) for label in labels], fontsize=7)
    ax.set_ylabel(f'COCO box mAP ({split})')
    ax.set_title('box mAP per model, mean ± sd over seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_losses(curves: Dict[str, List[Tuple[List[int], List[float]]]], path: str) -> None:
    """Total training loss against iteration, one line per run, one colour per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for colour, (label, runs) in enumerate(curves.items()):
        for index, (iters, losses) in enumerate(runs):
            ax.plot(iters, losses, color=f'C{colour}', alpha=0.8, linewidth=1,
                    label=label if index == 0 else None)
    ax.set_xlabel('iteration')
    ax.set_ylabel('training loss (all terms)')
    ax.set_yscale('log')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
