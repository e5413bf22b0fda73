#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run on a lent GPU machine (no network there):
#
#   bash tools/gpu_check.sh          # from anywhere; run with the ignored folder .whl/ carried
#
# 1. installs the carried wheels of .whl/ (mmengine, mmdet, pycocotools and the pure-Python
#    dependencies the machine lacks) into $MMKD_GPU_SITE (default /tmp/site),
# 2. builds mmcv 2.1.0 with its CUDA ops from the carried sdist .whl/mmcv-2.1.0.tar.gz
#    (a few minutes on 16 cores), both skipped when mmcv.ops already runs on CUDA,
# 3. runs a CUDA RoIAlign/NMS smoke test, tests/test_cuda.py, and tools/benchmark.py on the GPU:
#    the small configs, then the Faster R-CNN R101 -> R50 pair at 1333x800 in fp32, with the
#    fp16 teacher, with the AMP student and with channels-last (MMKD_GPU_COCO=0 skips those).
#
# Fill .whl/ on a machine with network (Python 3.12, x86_64), e.g.
#   P="python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl"
#   $P mmengine==0.10.7 mmdet==3.3.0 pycocotools shapely terminaltables addict termcolor yapf \
#      platformdirs 'setuptools==80.9.0'
#   .venv/bin/python -m pip download --no-deps --no-binary=:all: --no-build-isolation \
#      mmcv==2.1.0 -d .whl
#
# Logs, and the benchmark's gpu_costs.json, go to $OUT (default work_dirs/gpu_check).
# Environment: MMCV_CUDA_STD=c++20 compiles mmcv with C++20 instead of mmcv's C++17;
# MMCV_BUILD_FILTERED_LRELU=1 builds mmcv's filtered_lrelu CUDA op too (left out by default: by
# far the slowest unit to compile, and no detector uses it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="${OUT:-$REPO/work_dirs/gpu_check}"
mkdir -p "$OUT"
SITE="${MMKD_GPU_SITE:-/tmp/site}"
WHL="$REPO/.whl"
WORK="${MMKD_GPU_WORK:-/tmp/mmkd_gpu_check}"    # data sets, the mmcv build, scratch
START=$(date +%s)
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
TEE_PID=$!
trap 'exec 1>&- 2>&-; wait "$TEE_PID" 2>/dev/null || true' EXIT   # the log complete at exit

log() { echo "[gpu_check $(date +%T) +$(( $(date +%s) - START ))s] $*"; }
fail() { log "FAILED: $*"; exit 1; }

export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_BREAK_SYSTEM_PACKAGES=1
mkdir -p "$WORK"

log "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || log "no nvidia-smi"
python3 - <<'PY' || fail "torch does not import"
import sys, torch
print('python', sys.version.split()[0], '| torch', torch.__version__, '| torch CUDA',
      torch.version.cuda, '| cuda available', torch.cuda.is_available(),
      '| device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
PY
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || fail "torch sees no CUDA device"
echo "cpus $(nproc); $(command -v nvcc || echo 'no nvcc on PATH'); ninja $(ninja --version 2>/dev/null || echo missing)"
nvcc --version 2>/dev/null | tail -2 || true
g++ --version 2>/dev/null | head -1 || true

stack_runs() {   # mmcv with CUDA ops, mmdet and mmengine import, and RoIAlign runs on the GPU
  python3 - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, torch  # noqa: F401
from mmcv.ops import roi_align
x = torch.rand(1, 2, 8, 8, device='cuda')
r = torch.tensor([[0., 0., 0., 7., 7.]], device='cuda')
assert roi_align(x, r, (2, 2), 1.0, 2, 'avg', True).shape == (1, 2, 2, 2)
PY
}

# --- 1. the carried wheels ------------------------------------------------------------------------
if stack_runs 2>/dev/null; then
  log "mmcv (CUDA ops), mmdet and mmengine already run here: nothing to install"
else
  [ -d "$WHL" ] || fail "no $WHL: carry the ignored folder .whl (see the head of this script)"
  ls -l "$WHL"
  wheels=()
  for wheel in "$WHL"/*.whl; do
    case "$(basename "$wheel")" in
      setuptools-*) ;;   # only where pkg_resources is missing (below)
      *) wheels+=("$wheel") ;;
    esac
  done
  # pkg_resources (gone from setuptools 81): mmcv's setup.py and mmengine's 'mmdet::' configs
  if ! python3 -c "import pkg_resources" 2>/dev/null; then
    log "no pkg_resources here: installing the carried setuptools<81 too"
    wheels+=("$WHL"/setuptools-*.whl)
  fi
  log "installing ${#wheels[@]} wheels into $SITE"
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$SITE" "${wheels[@]}" || fail "pip install of the carried wheels"
  else   # no pip: a wheel is a zip of what goes into site-packages
    log "no pip here: unzipping the wheels"
    mkdir -p "$SITE"
    for wheel in "${wheels[@]}"; do python3 -m zipfile -e "$wheel" "$SITE"; done
  fi
  # mmengine's runner (collect_env) imports distutils, gone from Python 3.12: setuptools serves
  # it through its .pth hook, missing where setuptools is not installed in a site directory
  if ! python3 -c "from distutils import errors" 2>/dev/null; then
    log "no distutils here: serving setuptools' copy from $SITE/distutils"
    mkdir -p "$SITE/distutils"
    cat > "$SITE/distutils/__init__.py" <<'PY'
# gpu_check.sh: setuptools' distutils, without importing setuptools (which would import this)
import importlib.util as _util
import os as _os
__path__ = [_os.path.join(_os.path.dirname(_util.find_spec('setuptools').origin), '_distutils')]
with open(_os.path.join(__path__[0], '__init__.py')) as _f:
    exec(compile(_f.read(), _f.name, 'exec'))
PY
  fi
  python3 -c "import pkg_resources, mmengine, pycocotools, shapely; \
from distutils import errors; \
print('mmengine', mmengine.__version__)" \
    || fail "the installed wheels do not import"

  # --- 2. mmcv 2.1.0 with CUDA ops ----------------------------------------------------------------
  SDIST=$(ls "$WHL"/mmcv-2.1.0.tar.gz 2>/dev/null) || fail "no $WHL/mmcv-2.1.0.tar.gz"
  # CUDA_HOME: torch looks at $CUDA_HOME, then at the nvcc on PATH (a wrapper script there would
  # give a wrong root), then /usr/local/cuda
  if [ -z "${CUDA_HOME:-}" ]; then
    for candidate in /usr/local/cuda "$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")"; do
      if [ -x "$candidate/bin/nvcc" ] && [ -f "$candidate/include/cuda_runtime.h" ]; then
        export CUDA_HOME="$candidate"; break
      fi
    done
  fi
  [ -n "${CUDA_HOME:-}" ] || fail "no CUDA toolkit found (set CUDA_HOME)"
  export PATH="$CUDA_HOME/bin:$PATH"
  log "CUDA_HOME=$CUDA_HOME ($("$CUDA_HOME/bin/nvcc" --version | tail -1))"
  # torch's CUDA headers include cuBLAS/cuSPARSE/cuSOLVER(/cuDSS) headers: a toolkit with nvcc
  # alone lacks them, the nvidia-* wheels that torch depends on ship them
  if [ ! -f "$CUDA_HOME/include/cublas_v2.h" ]; then
    extra=$(python3 - <<'PY'
import glob, os, sys
dirs = []
for root in sys.path:
    for header in ('cublas_v2.h', 'cusparse.h', 'cusolverDn.h', 'cudss.h', 'curand.h'):
        for found in glob.glob(os.path.join(root, 'nvidia', '**', header), recursive=True):
            if os.path.dirname(found) not in dirs:
                dirs.append(os.path.dirname(found))
print(':'.join(dirs))
PY
)
    log "cuBLAS & co. headers from the nvidia wheels: ${extra:-none found}"
    [ -n "$extra" ] && export CPATH="$extra${CPATH:+:$CPATH}"
  fi
  # the link step wants libcudart.so in $CUDA_HOME/lib64
  if ! ls "$CUDA_HOME"/lib64/libcudart.so >/dev/null 2>&1; then
    cudart=$(ls "$CUDA_HOME"/lib64/libcudart.so.* 2>/dev/null | head -1 || true)
    [ -n "$cudart" ] || cudart=$(python3 -c "
import glob, sys
print(next(iter(sorted(f for r in sys.path for f in glob.glob(r + '/nvidia/**/libcudart.so*',
                                                            recursive=True))), ''))")
    if [ -n "$cudart" ]; then
      mkdir -p "$WORK/cudalib" && ln -sf "$cudart" "$WORK/cudalib/libcudart.so"
      export LIBRARY_PATH="$WORK/cudalib${LIBRARY_PATH:+:$LIBRARY_PATH}"
      log "libcudart.so for the link: $cudart"
    fi
  fi

  SRC="$WORK/mmcv-src"
  rm -rf "$SRC" && mkdir -p "$SRC" && tar xzf "$SDIST" -C "$SRC"
  SRC="$SRC/mmcv-2.1.0"
  # torch >= 2.? has no THC/ any more: its atomics live in ATen/cuda/Atomic.cuh
  sed -i 's#<THC/THCAtomics.cuh>#<ATen/cuda/Atomic.cuh>#' \
    "$SRC/mmcv/ops/csrc/common/pytorch_cuda_helper.hpp" \
    "$SRC/mmcv/ops/csrc/pytorch/cuda/ms_deform_attn_cuda.cu"
  if [ "${MMCV_CUDA_STD:-c++17}" != "c++17" ]; then
    sed -i "s/'-std=c++17'/'-std=${MMCV_CUDA_STD}'/g" "$SRC/setup.py"
  fi
  drop_flrelu=$([ "${MMCV_BUILD_FILTERED_LRELU:-0}" = 1 ] && echo 0 || echo 1)
  if [ "$drop_flrelu" = 1 ]; then
    # filtered_lrelu.cu defines filtered_lrelu_op (registered in the .cu itself) and
    # filtered_lrelu_act_op, registered in cudabind.cpp: drop that registration with the file
    grep -q 'REGISTER_DEVICE_IMPL(filtered_lrelu_act_op_impl, CUDA, filtered_lrelu_act_op);' \
      "$SRC/mmcv/ops/csrc/pytorch/cuda/cudabind.cpp" || fail "cudabind.cpp is not as expected"
    sed -i '/REGISTER_DEVICE_IMPL(filtered_lrelu_act_op_impl, CUDA, filtered_lrelu_act_op);/d' \
      "$SRC/mmcv/ops/csrc/pytorch/cuda/cudabind.cpp"
  fi
  # the slowest units first: ninja starts jobs in the order of the sources
  python3 - "$SRC/setup.py" "$drop_flrelu" <<'PY' || fail "could not patch mmcv's setup.py"
import sys
path, drop = sys.argv[1], sys.argv[2] == '1'
text = open(path).read()
anchor = '        ext_ops = extension(\n            name=ext_name,'
assert text.count(anchor) == 1, 'setup.py is not as expected'
patch = ("        op_files = [f for f in op_files if not f.endswith('filtered_lrelu.cu')]\n"
         if drop else '')
patch += ("        op_files.sort(key=lambda f: (not f.endswith('filtered_lrelu.cu'),\n"
          "                                     not f.endswith('.cu')))\n")
open(path, 'w').write(text.replace(anchor, patch + anchor))
PY
  export MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
  # host flags: optimised, no debug info (smaller, quicker); CFLAGS replaces Python's own here
  export MAX_JOBS="${MAX_JOBS:-$(nproc)}" CFLAGS="${CFLAGS:--O2 -DNDEBUG -fwrapv -g0}"
  log "building mmcv 2.1.0 with CUDA ops, $MAX_JOBS jobs (log: $OUT/mmcv_build.log.gz)"
  if python3 -m pip --version >/dev/null 2>&1; then
    build=(python3 -m pip install -v --no-index --no-deps --no-build-isolation --no-cache-dir
           --upgrade --target "$SITE" .)
  else                    # no pip: build in place and import mmcv from the source tree
    build=(python3 setup.py build_ext --inplace)
    export PYTHONPATH="$SRC:$PYTHONPATH"
  fi
  if ! (cd "$SRC" && "${build[@]}") > "$OUT/mmcv_build.log" 2>&1; then
    log "mmcv build failed; first errors:"
    grep -m10 -E '^FAILED: |error:|Error:|fatal' "$OUT/mmcv_build.log" | cut -c1-400 || true
    tail -n 25 "$OUT/mmcv_build.log" | cut -c1-400
    gzip -f "$OUT/mmcv_build.log"
    fail "mmcv build"
  fi
  grep -c 'warning' "$OUT/mmcv_build.log" | sed 's/^/compiler warnings: /' || true
  gzip -f "$OUT/mmcv_build.log"
  log "mmcv built"
  stack_runs || fail "the built mmcv.ops does not run on CUDA (traceback above)"
fi

# --- 3. checks on the GPU ---------------------------------------------------------------------------
status=0
log "versions and a CUDA RoIAlign/NMS against the CPU kernels"
python3 - <<'PY' || { status=1; log "smoke test FAILED (the tests run all the same)"; }
import mmcv, mmdet, mmengine, torch
from mmcv.ops import nms, roi_align
print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__,
      '| mmengine', mmengine.__version__)
torch.manual_seed(0)
feats = torch.rand(1, 4, 16, 16)
rois = torch.tensor([[0., 1., 1., 12., 9.], [0., 3.5, 2., 15., 15.]])
cpu = roi_align(feats, rois, (3, 3), 1.0, 2, 'avg', True)
gpu = roi_align(feats.cuda(), rois.cuda(), (3, 3), 1.0, 2, 'avg', True)
print('roi_align max |cuda - cpu|:', (gpu.cpu() - cpu).abs().max().item())
assert torch.allclose(gpu.cpu(), cpu, atol=1e-5)
x = torch.rand(8, 4, device='cuda')
boxes = torch.cat([x[:, :2] * 50, x[:, :2] * 50 + 10 + x[:, 2:] * 20], 1)
scores = torch.rand(8, device='cuda')
_, keep = nms(boxes, scores, 0.3)
_, keep_cpu = nms(boxes.cpu(), scores.cpu(), 0.3)
print('nms keeps', keep.tolist())
assert torch.equal(keep.cpu(), keep_cpu)
PY

log "pytest tests/test_cuda.py"
python3 -m pytest tests/test_cuda.py -q -p no:cacheprovider -rs --junitxml="$OUT/test_cuda.xml" \
  || { status=1; log "tests/test_cuda.py FAILED (benchmark runs all the same)"; }

log "benchmark on the GPU"
# generated data sets in scratch (relative data roots resolve against the working directory)
BENCH_DIR="$WORK/bench"
mkdir -p "$BENCH_DIR"
(cd "$BENCH_DIR" && python3 "$REPO/tools/benchmark.py" \
  "$REPO/configs/reviewkd_frcnn.py" "$REPO/configs/hint_frcnn.py" \
  "$REPO/configs/clskd_retinanet_face.py" "$REPO/configs/reviewkd_maskrcnn.py" \
  --device cuda --random-teacher --iters 20 --out "$OUT/gpu_costs.json" \
  --cfg-options train_dataloader.dataset.num_images=32) \
  || { status=1; log "benchmark FAILED"; }

# COCO size: the Faster R-CNN R101 -> R50 pair at 1333x800, batch 2, two methods, in fp32, with
# the fp16 teacher, with the AMP student beside it, and channels-last on top (random weights,
# random images: nothing fetched). MMKD_GPU_COCO=0 skips it.
if [ "${MMKD_GPU_COCO:-1}" != 0 ]; then
  COCO_PAIR="$REPO/configs/coco/reviewkd_faster-rcnn_r101-r50_fpn_1x_coco.py"
  coco_row() {   # NAME, then benchmark.py options
    local name=$1; shift
    log "benchmark at COCO size: $name"
    python3 "$REPO/tools/benchmark.py" "$COCO_PAIR" --methods pkd reviewkd --random-teacher \
      --synthetic 1333 800 --batch-size 2 --iters 10 --warmup 3 --batches 2 --device cuda \
      --out "$OUT/gpu_costs_coco_$name.json" "$@" || { status=1; log "$name FAILED"; }
  }
  coco_row fp32
  coco_row fp16_teacher --cfg-options model.teacher.fp16=True
  coco_row fp16_teacher_amp --amp --cfg-options model.teacher.fp16=True
  coco_row fp16_teacher_amp_channels_last --amp \
    --cfg-options model.teacher.fp16=True model.teacher.channels_last=True
fi

log "done (status $status)"
exit $status
