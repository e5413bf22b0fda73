#!/usr/bin/env bash
# Train under Slurm, one task per GPU, as mmdet's tools/slurm_train.sh does; mmengine's slurm
# launcher reads the rank and the world from Slurm's variables.
#
#   [GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]
#
# GPUS (default 8) over nodes of GPUS_PER_NODE (default 8): GPUS=16 takes two nodes. The mmdet
# recipes set the learning rate for 16 images per step (8 GPUs x 2); on any other GPU count add
# --auto-scale-lr, which scales it by GPUS x the batch size / 16:
#   GPUS=16 bash tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR --auto-scale-lr
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: [GPUS=.. GPUS_PER_NODE=..] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_PYTHON=python
[ -x "$ROOT/.venv/bin/python" ] && DEFAULT_PYTHON="$ROOT/.venv/bin/python"
# shellcheck disable=SC2086  # SRUN_ARGS holds several words
exec srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "${PYTHON:-$DEFAULT_PYTHON}" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
  --launcher=slurm "$@"
