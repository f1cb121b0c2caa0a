#!/usr/bin/env bash
# The whole suite, as CI runs it: lint, format, types, import contracts, tests.
#
#   ./scripts/test.sh              # everything
#   ./scripts/test.sh -k cli -x    # same checks; extra arguments go to pytest
#
# Installs what it needs on first use and again only when pyproject.toml changes:
#   .venv         Cairn with its test extras (pip install -e '.[test]')
#   .venv-oracle  Cloudify's reference parser (cloudify-common 7.0.5), test-only; kept
#                 apart because its pinned dependencies clash with Cairn's.
# Stops at the first failing step and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

ORACLE_REQUIREMENT='cloudify-common[dispatcher]==7.0.5'

step() { printf '\n==> %s\n' "$*" >&2; }

# The first Python >= 3.11 on PATH.
find_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "scripts/test.sh: Cairn needs Python 3.11 or newer (python3 on PATH is older)" >&2
    return 1
}

# ensure_venv DIR KEY PIP-ARGS...: DIR holds a venv where `pip install PIP-ARGS` ran while
# the install inputs hashed to KEY (kept in DIR/.cairn-stamp); otherwise (re)install.
ensure_venv() {
    local dir=$1 key=$2
    shift 2
    local stamp="$dir/.cairn-stamp"
    if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
        return 0
    fi
    step "installing into $dir: pip install $*"
    if [[ ! -x "$dir/bin/python" ]]; then
        "$(find_python)" -m venv "$dir"
    fi
    "$dir/bin/python" -m pip install --quiet "$@"
    printf '%s\n' "$key" >"$stamp"
}

pyproject_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
ensure_venv .venv "test:$pyproject_hash" -e '.[test]'
ensure_venv .venv-oracle "oracle:$ORACLE_REQUIREMENT" "$ORACLE_REQUIREMENT"

bin=.venv/bin

step "ruff check"
"$bin/ruff" check

step "ruff format --check"
"$bin/ruff" format --check

step "mypy (strict, src/)"
"$bin/mypy"

step "lint-imports"
"$bin/lint-imports"

step "pytest $*"
status=0
"$bin/python" -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "scripts/test.sh: pytest collected no tests; that is a failure" >&2
fi
exit "$status"
