#!/usr/bin/env bash
# A scratch virtualenv with MMRazor 1.0.0 beside mmkd, for tools/mmrazor_side_by_side.py only
# (mmkd itself never imports MMRazor).
#
#   bash tools/mmrazor_env.sh          # in work_dirs/mmrazor_venv (override with MMRAZOR_VENV=...)
#
# The virtualenv sees the project's (torch, mmcv, mmdet, mmkd) through a .pth file and holds
# only MMRazor (without its pinned dependencies) and joblib, which it imports at load time.
# MMRazor 1.0.0, the last release (2023), does not import on torch >= 2.1: its quantization
# backend configs import three fuser helpers torch has since removed (reverse2, reverse3,
# reverse_sequential_wrapper2) and are built at import time against torch.ao APIs that moved.
# The patch below defines the three helpers in place, as torch 1.13 did, and leaves the backend
# configs unbuilt on torch >= 2.1 (as MMRazor does on torch < 1.13): quantization is off, and
# nothing the distillation code runs is touched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROJECT_VENV="${MMKD_VENV:-$ROOT/.venv}"
VENV="${MMRAZOR_VENV:-$ROOT/work_dirs/mmrazor_venv}"
PYTHON="$PROJECT_VENV/bin/python"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
site() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
# an "import" line, so that the project's own .pth files (mmkd's editable install) count too
echo "import site; site.addsitedir('$(site "$PYTHON")')" \
  > "$(site "$VENV/bin/python")/mmkd_project_venv.pth"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --no-deps "mmrazor==1.0.0"
"${PIP[@]}" "joblib>=1.2"

"$VENV/bin/python" - <<'PY'
import pathlib
import importlib.util


def patch(path, old, new):
    text = path.read_text()
    if old in text:
        path.write_text(text.replace(old, new))
        print(f'[mmrazor_env] patched {path}')
    elif "mmkd's patch" not in text:
        raise SystemExit(f'[mmrazor_env] {path} is not the MMRazor 1.0.0 file the patch expects')


spec = importlib.util.find_spec('mmrazor')
path = (pathlib.Path(spec.origin).parent / 'structures' / 'quantization' / 'backend_config'
        / 'common_operator_config_utils.py')
removed = ('    from torch.ao.quantization.fuser_method_mappings import (\n'
           '        fuse_conv_bn, fuse_conv_bn_relu, fuse_convtranspose_bn, fuse_linear_bn,\n'
           '        reverse2, reverse3, reverse_sequential_wrapper2)\n')
restored = '''    from torch.ao.quantization.fuser_method_mappings import (
        fuse_conv_bn, fuse_conv_bn_relu, fuse_convtranspose_bn, fuse_linear_bn)

    # mmkd's patch: removed from torch after 1.13, defined here as they were
    def reverse_sequential_wrapper2(sequential):
        return lambda is_qat, x1, x2: sequential(x2, x1)

    def reverse2(f):
        return lambda is_qat, x, y: f(is_qat, y, x)

    def reverse3(f):
        return lambda is_qat, x, w: f(is_qat, w[1], w[0], x)
'''
patch(path, removed, restored)
patch(path.with_name('mapping.py'),
      "if digit_version(torch.__version__) >= digit_version('1.13.0'):\n",
      "# mmkd's patch: the torch.ao APIs these are built on moved in torch 2.1\n"
      "if digit_version('1.13.0') <= digit_version(torch.__version__) < digit_version('2.1.0'):\n")
PY
"$VENV/bin/python" -c "import mmrazor.models, mmkd; print('[mmrazor_env] mmrazor', \
  __import__('mmrazor').__version__, 'and mmkd import in', '$VENV')"
