"""Config handling shared by the command-line tools."""
import os.path as osp

from mmengine.config import Config

PLAIN_CHECKPOINT_HOOK = 'mmkd.PlainCheckpointHook'


def load_run_config(config_file, cfg_options=None, work_dir=None, launcher='none') -> Config:
    """Read ``config_file`` for a run: apply ``--cfg-options``, set the work dir (default
    ``work_dirs/<config name>``) and the launcher, and make sure checkpoints are written and read
    with plain metadata (adds :class:`mmkd.engine.PlainCheckpointHook` when the config lacks it)."""
    cfg = Config.fromfile(config_file)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config_file))[0])
    hooks = cfg.get('custom_hooks') or []
    if not any(hook.get('type') in (PLAIN_CHECKPOINT_HOOK, 'PlainCheckpointHook') for hook in hooks):
        cfg.custom_hooks = [*hooks, dict(type=PLAIN_CHECKPOINT_HOOK)]
    return cfg


def check_optim_wrapper(cfg: Config) -> None:
    """Refuse mmengine's ``AmpOptimWrapper`` next to ``model.nonfinite_loss='skip'``: a skipped
    step has no gradients, which its ``GradScaler`` cannot step (mmkd's can)."""
    wrapper = cfg.get('optim_wrapper') or {}
    if (cfg.model.get('nonfinite_loss') == 'skip'
            and wrapper.get('type') in ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper')):
        raise ValueError(f"optim_wrapper.type={wrapper['type']!r} cannot skip a step "
                         "(model.nonfinite_loss='skip'): its GradScaler asserts on a step without "
                         "gradients. Use type='mmkd.AmpOptimWrapper', the same wrapper that "
                         'skips such a step')
