#!/usr/bin/env bash
# README command 1: install what is needed, then run the demo (teacher, student, student+ReviewKD).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup_env.sh
exec "${MMKD_VENV:-.venv}/bin/python" tools/demo.py "$@"
