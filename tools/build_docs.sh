#!/usr/bin/env bash
# Build the docs site into docs/_build/html: Sphinx + myst-parser + furo, nitpicky, every
# warning an error (a Markdown link to a missing page or heading, a missing {doc}/{ref} target,
# an API name that does not exist, a missing image: each fails the build).
#
#   bash tools/build_docs.sh               # build; exit status non-zero on any warning
#   bash tools/build_docs.sh --self-check  # prove that broken links fail the build
#
# The virtualenv is ${MMKD_VENV:-.venv}; the `docs` extra of pyproject.toml is installed into it
# when a requirement is missing (or at a version outside its range).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${MMKD_VENV:-.venv}"
PYTHON="$VENV/bin/python"
MODE="${1:-build}"
case "$MODE" in
    build|--self-check) ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bash tools/build_docs.sh [--self-check]" >&2; exit 2 ;;
esac

if [ ! -x "$PYTHON" ]; then
    echo "build_docs: no virtualenv at $VENV (bash tools/setup_env.sh makes one, or set MMKD_VENV)" >&2
    exit 2
fi

# install the docs extra only if a requirement is not met
DOCS_REQUIREMENTS=$("$PYTHON" -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['docs']))")
if ! "$PYTHON" - $DOCS_REQUIREMENTS <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for line in sys.argv[1:]:
    requirement = Requirement(line)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        sys.exit(1)
    if not requirement.specifier.contains(installed, prereleases=True):
        sys.exit(1)
EOF
then
    echo "build_docs: installing the docs extra ($DOCS_REQUIREMENTS) into $VENV"
    "$PYTHON" -m pip install -q $DOCS_REQUIREMENTS
fi

# -W warnings are errors, --keep-going reports them all, -n nitpicky (every cross-reference
# must resolve), -E a fresh environment (an incremental build would not repeat the warnings of
# pages that did not change), -q only warnings and errors.
sphinx_build() {   # sphinx_build SOURCE_DIR OUT_DIR
    OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}" \
        "$PYTHON" -m sphinx -W --keep-going -n -E -q -b html "$1" "$2"
}

if [ "$MODE" = build ]; then
    start=$SECONDS
    if sphinx_build docs docs/_build/html; then
        echo "build_docs: docs/_build/html built without a warning in $((SECONDS - start)) s"
        echo "build_docs: open docs/_build/html/index.html"
    else
        echo "build_docs: FAILED (each warning above is an error) after $((SECONDS - start)) s" >&2
        exit 1
    fi
    exit 0
fi

# --self-check: the docs copied to a temporary folder, plus one orphan page with one broken
# reference of each kind; that build must fail, with a warning naming each of them.
start=$SECONDS
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/docs"
(cd docs && tar --exclude=./_build -cf - .) | (cd "$TMP/docs" && tar -xf -)
PAGE=zz_self_check
cat > "$TMP/docs/$PAGE.md" <<'EOF'
---
orphan: true
---

# Self-check: broken references

[a missing page](no_such_page.md)

[a missing heading](index.md#no-such-heading)

{doc}`no_such_document`

{ref}`no-such-label`

{py:class}`mmkd.models.NoSuchDistiller`

![a missing image](no_such_image.png)
EOF
# what each reference checks: the name the page's warning must quote, then the check
CHECKS=(
    "no_such_page.md:a Markdown link to a missing page"
    "no-such-heading:a Markdown link to a missing heading anchor"
    "no_such_document:a {doc} role to a missing document"
    "no-such-label:a {ref} role to a missing label"
    "mmkd.models.NoSuchDistiller:a {py:class} role to an API name that does not exist"
    "no_such_image.png:an image that does not exist"
)
LOG="$TMP/build.log"
if sphinx_build "$TMP/docs" "$TMP/html" > "$LOG" 2>&1; then
    status=0
else
    status=$?
fi
failed=0
echo "build_docs --self-check: the docs plus $PAGE.md, one broken reference a line:"
for check in "${CHECKS[@]}"; do
    name="${check%%:*}"
    what="${check#*:}"
    warning=$(grep "$PAGE.md:[0-9]*: WARNING" "$LOG" | grep -F -m1 "$name" || true)
    if [ -n "$warning" ]; then
        echo "  caught: $what: ${warning#*$PAGE.md:}"
    else
        echo "  MISSED: $what ($name): no warning" >&2
        failed=1
    fi
done
others=$(grep "WARNING\|ERROR" "$LOG" | grep -vc "$PAGE.md" || true)
if [ "$others" != 0 ]; then
    echo "  (and $others warnings on the docs themselves: bash tools/build_docs.sh lists them)"
fi
if [ "$status" = 0 ]; then
    echo "build_docs --self-check: FAILED: the build with broken references passed" >&2
    cat "$LOG" >&2
    exit 1
fi
if [ "$failed" = 1 ]; then
    echo "build_docs --self-check: FAILED: a broken reference went unreported; the log:" >&2
    cat "$LOG" >&2
    exit 1
fi
echo "build_docs --self-check: OK: the build failed (sphinx exit $status) on each broken" \
     "reference, in $((SECONDS - start)) s"
