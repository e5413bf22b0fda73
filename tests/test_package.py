"""mmkd as an installed package: the wheel carries the configs and tools, ``mmkd::`` config paths
resolve in a checkout and in the wheel, and the ``mmkd`` command trains from either."""
import argparse
import glob
import os.path as osp
import re
import shutil

import pytest
from mmengine.config import Config

from conftest import CONFIGS, ROOT, run_tool
from mmkd import cli
from mmkd.utils import config_argument, resolve_config_path
from test_tools_e2e import tiny_data_options

SOURCES = ('mmkd', 'configs', 'tools', 'pyproject.toml', 'setup.py', 'MANIFEST.in', 'README.md',
           'LICENSE')


def relative_files(folder):
    return sorted(osp.relpath(path, folder)
                  for path in glob.glob(osp.join(folder, '**', '*'), recursive=True)
                  if osp.isfile(path) and '__pycache__' not in path)


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The wheel built from a copy of the checkout, installed (without its dependencies, which
    the test environment has) into a folder of its own; the environment that runs its ``mmkd``
    command from outside the checkout, importing mmkd from that folder."""
    tmp = tmp_path_factory.mktemp('wheel')
    source = tmp / 'source'
    source.mkdir()
    for name in SOURCES:
        if osp.isdir(osp.join(ROOT, name)):
            shutil.copytree(osp.join(ROOT, name), source / name,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(osp.join(ROOT, name), source / name)
    run_tool('-m', 'pip', 'wheel', str(source), '--no-deps', '--no-build-isolation', '-q',
             '-w', str(tmp / 'dist'))
    wheel, = glob.glob(str(tmp / 'dist' / 'mmkd-*.whl'))
    site = tmp / 'site'
    run_tool('-m', 'pip', 'install', '--no-deps', '-q', '--target', str(site), wheel)
    user_dir = tmp / 'user'
    user_dir.mkdir()
    return dict(site=site, wheel=wheel, cwd=str(user_dir),
                env=dict(PYTHONPATH=str(site), PYTHONWARNINGS='ignore'))


def test_the_wheel_carries_every_config_and_tool_and_imports_from_where_it_is_installed(installed):
    site = installed['site']
    assert relative_files(site / 'mmkd' / '.mim' / 'configs') == relative_files(CONFIGS)
    assert relative_files(site / 'mmkd' / '.mim' / 'tools') == relative_files(
        osp.join(ROOT, 'tools'))
    assert osp.isfile(site / 'mmkd-0.2.0.dist-info' / 'licenses' / 'LICENSE')
    out = run_tool('-c', 'import mmkd, mmkd.utils as u; print(mmkd.__file__); '
                   "print(u.resolve_config_path('mmkd::coco/README.md'))",
                   cwd=installed['cwd'], env_extra=installed['env'])
    module, config = out.strip().splitlines()[-2:]
    assert module == str(site / 'mmkd' / '__init__.py')
    assert config == str(site / 'mmkd' / '.mim' / 'configs' / 'coco' / 'README.md')


def test_installed_mmkd_command_trains_an_mmkd_scope_config(installed, teacher_checkpoint):
    """``mmkd train mmkd::pkd_frcnn.py`` by the console script the wheel installed, from a
    folder outside the checkout: one epoch of two iterations on generated data there."""
    work = osp.join(installed['cwd'], 'run')
    options = tiny_data_options(osp.join(installed['cwd'], 'data')) + [
        f'model.teacher.checkpoint={teacher_checkpoint}']
    log = run_tool(str(installed['site'] / 'bin' / 'mmkd'), 'train', 'mmkd::pkd_frcnn.py',
                   '--work-dir', work, '--cfg-options', *options,
                   cwd=installed['cwd'], env_extra=installed['env'])
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].* loss_pkd: \d', log), log[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert osp.isfile(osp.join(work, 'pkd_frcnn.py'))     # the dumped config keeps its name


def test_mmkd_scope_in_a_checkout_and_as_a_base(tmp_path):
    assert resolve_config_path('mmkd::pkd_frcnn.py') == osp.join(CONFIGS, 'pkd_frcnn.py')
    assert resolve_config_path('configs/pkd_frcnn.py') == 'configs/pkd_frcnn.py'
    user = tmp_path / 'my_pkd.py'
    user.write_text("_base_ = 'mmkd::pkd_frcnn.py'\n"
                    "model = dict(distillers=[dict(type='mmkd.PKD', loss_weight=2.0)])\n")
    cfg = Config.fromfile(str(user))
    shipped = Config.fromfile(osp.join(CONFIGS, 'pkd_frcnn.py'))
    assert cfg.model.student == shipped.model.student
    assert cfg.model.teacher.config == shipped.model.teacher.config
    assert cfg.model.distillers == [dict(type='mmkd.PKD', loss_weight=2.0)]
    assert cfg.train_dataloader == shipped.train_dataloader
    assert Config.fromfile('mmkd::pkd_frcnn.py').model == shipped.model


def test_an_unknown_mmkd_config_is_a_usage_error_with_the_closest_names():
    with pytest.raises(argparse.ArgumentTypeError, match=r'mmkd has no configs/pkd_frcn\.py .*'
                       r'did you mean pkd_frcnn\.py'):
        config_argument('mmkd::pkd_frcn.py')


def test_mmkd_command_lists_its_commands_and_refuses_an_unknown_one(capsys):
    cli.main(['--help'])
    out = capsys.readouterr().out
    for command, script in (('train', 'train'), ('test', 'test'), ('inspect', 'inspect_distill'),
                            ('export', 'export_student'), ('search', 'search_recipe'),
                            ('benchmark', 'benchmark')):
        assert re.search(rf'^  {command} .*\(tools/{script}\.py\)$', out, re.M), out
    with pytest.raises(SystemExit, match="unknown command 'fit'"):
        cli.main(['fit'])
