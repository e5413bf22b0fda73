#!/usr/bin/env bash
# README command 2 (and CI): install what is needed, then run the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup_env.sh
exec "${MMKD_VENV:-.venv}/bin/python" -m pytest tests -q -p no:cacheprovider "$@"
