"""Config handling shared by the command-line tools, and the ``mmkd::`` config scope."""
import argparse
import functools
import os.path as osp

from mmengine.config import Config

from .checkpoint import local_checkpoint
from .package_files import package_file

PLAIN_CHECKPOINT_HOOK = 'mmkd.PlainCheckpointHook'
SCOPE_PREFIX = 'mmkd::'


def resolve_config_path(path):
    """``'mmkd::pkd_frcnn.py'`` -> that file in mmkd's configs (a checkout's ``configs/`` or an
    installed wheel's ``mmkd/.mim/configs``); any other path is returned as it is."""
    if isinstance(path, str) and path.startswith(SCOPE_PREFIX):
        return package_file('configs', path[len(SCOPE_PREFIX):])
    return path


def config_argument(path: str) -> str:
    """argparse ``type`` of a config argument: :func:`resolve_config_path`, its error shown as a
    usage error."""
    try:
        return resolve_config_path(path)
    except FileNotFoundError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def enable_config_scope() -> None:
    """Let mmengine's :class:`~mmengine.config.Config` read ``mmkd::`` paths, both as the file
    given to ``Config.fromfile`` and as a ``_base_`` entry, as it reads ``mmdet::`` ones.

    mmengine 0.10 resolves ``package::path`` only for the OpenMMLab packages it lists, only for
    paths with a folder in them, and under ``site-packages/<package>`` (where an editable install
    is not), so mmkd resolves its own prefix and hands every other path to mmengine. An
    ``mmkd::`` base is read as a plain file (no ``_scope_`` is added): mmkd's configs name
    their types with the ``mmkd.`` prefix. Called once when mmkd is imported."""
    if getattr(Config.fromfile, '_mmkd_scope', False):
        return
    fromfile, get_cfg_path = Config.fromfile, Config._get_cfg_path

    @functools.wraps(fromfile)
    def fromfile_with_scope(filename, *args, **kwargs):
        return fromfile(resolve_config_path(filename), *args, **kwargs)

    @functools.wraps(get_cfg_path)
    def get_cfg_path_with_scope(cfg_path, filename):
        if cfg_path.startswith(SCOPE_PREFIX):
            return resolve_config_path(cfg_path), None
        return get_cfg_path(cfg_path, filename)

    fromfile_with_scope._mmkd_scope = True
    Config.fromfile = staticmethod(fromfile_with_scope)
    Config._get_cfg_path = staticmethod(get_cfg_path_with_scope)


def load_run_config(config_file, cfg_options=None, work_dir=None, launcher='none') -> Config:
    """Read ``config_file`` for a run: apply ``--cfg-options``, fetch a ``load_from`` URL into
    torch's hub cache (:func:`~mmkd.utils.checkpoint.local_checkpoint`), set the work dir (default
    ``work_dirs/<config name>``) and the launcher, and make sure checkpoints are written and read
    with plain metadata (adds :class:`mmkd.engine.PlainCheckpointHook` when the config lacks it)."""
    config_file = resolve_config_path(config_file)
    cfg = Config.fromfile(config_file)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if isinstance(cfg.get('load_from'), str):
        # a model-zoo URL: into torch's hub cache now, where mmengine would fetch it to, so that
        # offline the error names the file to put there rather than a bare URLError
        cfg.load_from = local_checkpoint(cfg.load_from, config_key='load_from')
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
