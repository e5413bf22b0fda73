"""Draw docs/_static/overview.png: a frozen teacher, the distillers, the student.

    .venv/bin/python docs/_scripts/make_overview.py

The picture is of mmkd.DistillDetector as the README describes it: the teacher (any mmdet
detector, loaded from its checkpoint, eval mode, no_grad, never saved or optimised) and the
student (any mmdet detector, the one that trains) are each read by taps at named modules
('neck', 'rpn_head', 'roi_head', ...); each distiller turns a pair of records into named losses,
added to the student's own detection losses.
"""
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '_static', 'overview.png')

GREY, BLUE, ORANGE, INK = '#d9d9d9', '#c6d7ee', '#f6d2b4', '#222222'


def box(ax, x, y, w, h, title, lines, colour, dashed=False):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle='round,pad=0.02,rounding_size=0.08',
                                facecolor=colour, edgecolor=INK, linewidth=1.2,
                                linestyle='--' if dashed else '-'))
    ax.text(x + w / 2, y + h - 0.17, title, ha='center', va='top', fontsize=11,
            fontweight='bold', color=INK)
    for i, line in enumerate(lines):
        ax.text(x + w / 2, y + h - 0.52 - 0.27 * i, line, ha='center', va='top', fontsize=8.5,
                color=INK)


def arrow(ax, start, end, label=None, offset=(0, 0.08)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle='-|>', mutation_scale=14, linewidth=1.2,
                                 color=INK))
    if label:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1], label,
                ha='center', va='bottom', fontsize=8, color=INK, style='italic')


def main():
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.15, 4.2)
    ax.axis('off')

    box(ax, 0.2, 2.35, 2.9, 1.6, 'teacher (frozen)',
        ['any mmdet detector + its checkpoint', 'eval mode, no_grad', 'not optimised, not saved'],
        GREY, dashed=True)
    box(ax, 0.2, 0.25, 2.9, 1.6, 'student (trains)',
        ['any mmdet detector', 'its own detection losses', 'exported as plain mmdet'], BLUE)
    box(ax, 3.95, 0.9, 2.7, 2.4, 'distillers',
        ['read named modules by taps', "('neck', 'rpn_head', 'roi_head', ...)",
         'pair levels by stride', 'ReviewKD, PKD, CWD, CrossKD,', 'ClsMapKD, hint KD, ...',
         'each returns named losses'], ORANGE)
    box(ax, 7.45, 0.9, 2.35, 2.4, 'one training step',
        ['detection losses', '+ distill losses', '(each weighted, logged', 'on its own)',
         'backward: student', 'and connectors only'], '#e8e8e8')

    arrow(ax, (3.1, 3.15), (3.95, 2.7), 'records', offset=(0, 0.12))
    arrow(ax, (3.1, 1.05), (3.95, 1.5), 'records', offset=(0, -0.35))
    arrow(ax, (6.65, 2.1), (7.45, 2.1))
    ax.add_patch(FancyArrowPatch((8.6, 0.9), (3.1, 0.5), connectionstyle='arc3,rad=-0.2',
                                 arrowstyle='-|>', mutation_scale=14, linewidth=1.0,
                                 color='#555555', linestyle=':'))
    ax.text(5.6, 0.02, 'gradients reach the student and connectors, never the teacher',
            ha='center', va='center', fontsize=8, color='#555555', style='italic')
    ax.text(5.0, 4.05, 'mmkd.DistillDetector: one mmengine config, mmengine\'s runner',
            ha='center', va='center', fontsize=10, color=INK)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(OUT)


if __name__ == '__main__':
    main()
