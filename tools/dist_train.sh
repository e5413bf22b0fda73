#!/usr/bin/env bash
# Train on N processes per machine, on one machine or several: torchrun + mmengine's DDP (nccl on
# GPUs, gloo on CPUs). The variables are those of mmdet's own tools/dist_train.sh.
#
#   bash tools/dist_train.sh CONFIG N [tools/train.py options...]
#
#   NNODES       machines taking part (default 1)
#   NODE_RANK    this machine's rank, 0 to NNODES-1 (default 0)
#   MASTER_ADDR  address of the rank-0 machine (default 127.0.0.1)
#   PORT         rendezvous port on it (default 29500)
#   PYTHON       the interpreter (default: the project's virtualenv when it exists, else python)
#
# Two machines with 8 GPUs each, the same command on both, NODE_RANK=0 on the first; 16 GPUs
# train 32 images per step, so --auto-scale-lr scales the recipes' rate (set for 16) to match:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8 --auto-scale-lr
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8 --auto-scale-lr
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: [NNODES=.. NODE_RANK=.. MASTER_ADDR=.. PORT=..] bash tools/dist_train.sh CONFIG N [train.py options...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_PYTHON=python
[ -x "$ROOT/.venv/bin/python" ] && DEFAULT_PYTHON="$ROOT/.venv/bin/python"
exec "${PYTHON:-$DEFAULT_PYTHON}" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$NPROC" \
  "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
