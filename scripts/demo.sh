#!/usr/bin/env bash
# Install Cairn into .venv (first run only) and show what it does today: check the example
# blueprint, print its plan, and print its deployment plan for a set of inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLE=examples/hello-web

step() { printf '\n$ %s\n' "$*" >&2; }

find_python() {
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "scripts/demo.sh: Cairn needs Python 3.11 or newer (python3 on PATH is older)" >&2
    return 1
}

# Reinstall only when pyproject.toml changed since the last install (by this script or by
# scripts/test.sh, whose install includes everything this one needs).
pyproject_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
stamp=.venv/.cairn-stamp
installed=$(cat "$stamp" 2>/dev/null || true)
if [[ ! -x .venv/bin/cairn || ( "$installed" != "base:$pyproject_hash" && "$installed" != "test:$pyproject_hash" ) ]]; then
    printf '==> installing Cairn into .venv (pip install -e .)\n' >&2
    [[ -x .venv/bin/python ]] || "$(find_python)" -m venv .venv
    .venv/bin/python -m pip install --quiet -e .
    printf 'base:%s\n' "$pyproject_hash" >"$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

step cairn --version
cairn --version

step cairn blueprints validate "$EXAMPLE/blueprint.yaml"
cairn blueprints validate "$EXAMPLE/blueprint.yaml"

step cairn blueprints plan "$EXAMPLE/blueprint.yaml" -o table
cairn blueprints plan "$EXAMPLE/blueprint.yaml" -o table

step cairn blueprints plan "$EXAMPLE/blueprint.yaml" -o table -i "$EXAMPLE/inputs.yaml" -i port=9090
cairn blueprints plan "$EXAMPLE/blueprint.yaml" -o table -i "$EXAMPLE/inputs.yaml" -i port=9090

# A broken copy: every problem is reported at once, located, and the exit code is 1.
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp -R "$EXAMPLE/." "$broken/"
sed -e 's/in_range: \[1024, 65535\]/in_range: [1024]/' \
    -e 's/type: cloudify.relationships.contained_in/type: cloudify.relationships.contained_on/' \
    -e 's/target: web_server/target: web_servr/' "$EXAMPLE/blueprint.yaml" >"$broken/blueprint.yaml"
step "cd $broken && cairn blueprints validate blueprint.yaml   # the example with three mistakes"
status=0
(cd "$broken" && cairn blueprints validate blueprint.yaml) || status=$?
if [[ $status -ne 1 ]]; then
    echo "scripts/demo.sh: expected exit code 1 for the broken blueprint, got $status" >&2
    exit 1
fi
# The manager: the API, the engine and the local site in one background process, with its
# state in .cairn-demo/ (a SQLite file; delete the folder to start afresh).
DATA_DIR="$PWD/.cairn-demo"
PORT=${CAIRN_DEMO_PORT:-8700}
export CAIRN_MANAGER="http://127.0.0.1:$PORT"
if ! curl -fsS "$CAIRN_MANAGER/api/v1/health" >/dev/null 2>&1; then
    step cairn up --detach --data-dir "$DATA_DIR" --port "$PORT"
    cairn up --detach --data-dir "$DATA_DIR" --port "$PORT"
fi
export CAIRN_TOKEN
CAIRN_TOKEN=$(cat "$DATA_DIR/admin.token")

if cairn deployments get hello-web >/dev/null 2>&1; then
    step cairn uninstall hello-web   # from an earlier run of this script
    cairn uninstall hello-web
fi
step cairn install "$EXAMPLE" -d hello-web -i "$EXAMPLE/inputs.yaml"
cairn install "$EXAMPLE" -d hello-web -i "$EXAMPLE/inputs.yaml"

step cairn node-instances list -d hello-web
cairn node-instances list -d hello-web
step cairn deployments outputs hello-web
cairn deployments outputs hello-web
url=$(cairn deployments outputs hello-web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["values"].get("url", {}).get("value", ""))')
if [[ -n "$url" ]]; then
    step curl -s "$url"
    curl -fsS "$url" | head -5 || true
fi

printf '\n==> hello-web is installed and served by the manager at %s (data in %s).\n' "$CAIRN_MANAGER" "$DATA_DIR" >&2
printf '    Tear down: .venv/bin/cairn uninstall hello-web && .venv/bin/cairn down --data-dir %s\n' "$DATA_DIR" >&2
