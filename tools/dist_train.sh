#!/usr/bin/env bash
# Train on N processes of this machine: torchrun + DDP (nccl on GPUs, gloo on CPUs).
#
#   bash tools/dist_train.sh CONFIG N [tools/train.py options...]
#
# PORT (default 29500) sets the rendezvous port; PYTHON the interpreter (default: the project's
# virtualenv when it exists, else python).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash tools/dist_train.sh CONFIG N [train.py options...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_PYTHON=python
[ -x "$ROOT/.venv/bin/python" ] && DEFAULT_PYTHON="$ROOT/.venv/bin/python"
exec "${PYTHON:-$DEFAULT_PYTHON}" -m torch.distributed.run --nproc_per_node="$NPROC" \
  --master_port="${PORT:-29500}" "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
