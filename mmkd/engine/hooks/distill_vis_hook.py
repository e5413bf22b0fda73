"""Pictures of what is distilled, at each validation."""
import os
import os.path as osp

import mmcv
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd.registry import HOOKS


@HOOKS.register_module()
class DistillVisHook(Hook):
    """After each validation, the pictures of ``tools/inspect_distill.py`` for the first
    ``num_images`` validation images: per level-pairing distiller the teacher's map, the
    student's through its connector and their difference; for ClsMapKD the mined anchors;
    ground truth, teacher and student detections. Written to ``WORK_DIR/distill_vis/iter_<N>/``
    and to the runner's visualiser backends (TensorBoard, say, when configured), one image per
    file name.

    Use: ``custom_hooks = [..., dict(type='mmkd.DistillVisHook', num_images=2)]``.

    Args:
        num_images (int): validation images drawn. Default 2.
    """

    priority = 'LOW'

    def __init__(self, num_images: int = 2):
        self.num_images = num_images

    def after_val_epoch(self, runner, metrics=None) -> None:
        from mmkd.apis.inspect import draw_pictures
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not is_main_process() or not hasattr(model, 'distillers'):
            return
        out = osp.join(runner.work_dir, 'distill_vis', f'iter_{runner.iter}')
        os.makedirs(out, exist_ok=True)
        for path in draw_pictures(model, runner.cfg, out, self.num_images):
            runner.visualizer.add_image(osp.splitext(osp.basename(path))[0],
                                        mmcv.imread(path, channel_order='rgb'), step=runner.iter)
