"""The build is described in pyproject.toml; this shim adds one step to it: the wheel carries
``configs/`` and ``tools/`` as ``mmkd/.mim/configs`` and ``mmkd/.mim/tools`` (the layout mmdet and
openmim use), so an installed mmkd has its configs (``mmkd::`` paths) and its commands (``mmkd
train ...``). A checkout and an editable install read the folders beside the package instead
(:mod:`mmkd.utils.package_files`)."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE_DATA_FOLDERS = ('configs', 'tools')


class BuildWithConfigsAndTools(build_py):

    def run(self):
        super().run()
        if self.editable_mode:
            return
        here = os.path.dirname(os.path.abspath(__file__))
        for folder in PACKAGE_DATA_FOLDERS:
            target = os.path.join(self.build_lib, 'mmkd', '.mim', folder)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(os.path.join(here, folder), target,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(cmdclass={'build_py': BuildWithConfigsAndTools})
