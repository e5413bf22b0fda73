import os
import os.path as osp
import subprocess
import sys
import tempfile

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
import tool_process

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
STUDENT_CONFIG = osp.join(CONFIGS, 'frcnn_r18w8_student_shapes.py')
TEACHER_CONFIG = osp.join(CONFIGS, 'frcnn_r18w32_teacher_shapes.py')
REVIEWKD_CONFIG = osp.join(CONFIGS, 'reviewkd_frcnn.py')
MASK_TEACHER_CONFIG = osp.join(CONFIGS, 'maskrcnn_r18w32_teacher_shapes.py')


@pytest.fixture(autouse=True)
def mmdet_scope():
    init_default_scope('mmdet')


def model_config(config_file):
    return Config.fromfile(config_file).model


def save_fresh_checkpoint(config_file, path):
    """Build the model of ``config_file`` at init and save it as mmengine does (plain meta)."""
    from mmdet.registry import MODELS
    model = MODELS.build(model_config(config_file))
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=0)), path)
    return path


@pytest.fixture(scope='session')
def teacher_checkpoint(tmp_path_factory):
    """The shapes teacher at initial weights, the same ones in every session (seed 0, the
    generator of the tests left as it was): random weights that score nothing."""
    init_default_scope('mmdet')
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return save_fresh_checkpoint(TEACHER_CONFIG,
                                     str(tmp_path_factory.mktemp('teacher') / 't.pth'))


@pytest.fixture(scope='session')
def mask_teacher_checkpoint(tmp_path_factory):
    init_default_scope('mmdet')
    return save_fresh_checkpoint(MASK_TEACHER_CONFIG,
                                 str(tmp_path_factory.mktemp('mask_teacher') / 'mask_t.pth'))


def distill_model_config(teacher_checkpoint, **overrides):
    cfg = Config.fromfile(REVIEWKD_CONFIG).model
    cfg.teacher.checkpoint = teacher_checkpoint
    cfg.update(overrides)
    return cfg


def run_tool(*args, cwd=ROOT, env_extra=None, timeout=900):
    """Run the python command line ``python ARGS`` in a process of its own (forked from a server
    with torch and mmdet imported, :mod:`tool_process`; a fresh interpreter where ``env_extra``
    changes how one starts); fail the test with its output if it fails. Returns its output,
    stdout and stderr interleaved."""
    env = dict(os.environ, **(env_extra or {}))
    if tool_process.needs_fresh_interpreter(env_extra):
        proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
        status, output = proc.returncode, proc.stdout + proc.stderr
    else:
        with tempfile.TemporaryDirectory() as tmp:
            log = osp.join(tmp, 'output.log')
            status = tool_process.run(args, str(cwd), env, log, timeout)
            with open(log, errors='replace') as f:
                output = f.read()
    if status != 0:
        ended = f'timed out after {timeout} s' if status is None else f'exited {status}'
        pytest.fail(f'{" ".join(map(str, args))} {ended}\n{output[-10000:]}')
    return output


def real_data(name):
    """The folder of real data set ``name`` (``bccd``, ``dlib_faces``) in the data root
    (``$MMKD_DATA_ROOT``, default ``../shared/data``), or skip the test, saying where the set
    comes from and where to put it."""
    from mmkd.datasets.real_data import missing_data_message, real_data_path
    path = real_data_path(name)
    if not osp.isdir(path):
        pytest.skip(missing_data_message(name, path))
    return path
