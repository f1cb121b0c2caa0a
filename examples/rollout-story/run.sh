#!/usr/bin/env bash
# The rollout story on one machine: ten sites (each a real agent, here on loopback), an
# update to all of them in waves; three sites drop off after the canary and fail; they come
# back and only they are retried; one site is rolled back to its previous revision.
#
#   ./examples/rollout-story/run.sh            # after ./scripts/demo.sh (or pip install -e .)
#
# Everything lives in a temporary folder and is removed at the end (manager, agents, the
# sites' web servers). The page of site N answers on http://127.0.0.1:$((8300 + N))/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATH="$PWD/.venv/bin:$PATH"

WORK=$(mktemp -d -t cairn-rollout-story.XXXXXX)
PORT=${CAIRN_STORY_PORT:-8790}
export CAIRN_DATA_DIR="$WORK/manager" CAIRN_MANAGER="http://127.0.0.1:$PORT"
declare -A AGENTS=()

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
start_agent() {
    cairn agent --manager "$CAIRN_MANAGER" --site "$1" --token-file "$WORK/$1.token" \
        --data-dir "$WORK/agents/$1" --poll-wait 2 --backoff-max 2 >>"$WORK/agent-$1.log" 2>&1 &
    AGENTS[$1]=$!
}
finish() {
    set +e
    step "clean up"
    cairn rollouts start uninstall -g prod --concurrency 10 --follow >/dev/null 2>&1
    for pid in "${AGENTS[@]}"; do kill "$pid" 2>/dev/null; done
    cairn down >/dev/null 2>&1
    rm -rf "$WORK"
}
trap finish EXIT

step "a manager that counts a site offline after 10 s without its agent (default 45 s)"
CAIRN_SITE_OFFLINE_AFTER=10 cairn up --detach --port "$PORT"
cairn blueprints upload examples/hello-web -b crm-v1
cairn blueprints upload examples/hello-web-v2 -b crm-v2

step "ten sites, each with its agent"
: >"$WORK/sites.yaml"
for n in $(seq 1 10); do
    site=$(printf 'site-%02d' "$n")
    cairn sites create "$site" --location "$((40 + n)).5,$n.25" --label region=eu >/dev/null
    cairn sites token "$site" --output-file "$WORK/$site.token" >/dev/null
    start_agent "$site"
    printf -- '- {site: %s, inputs: {port: %d, site_title: "CRM at %s"}}\n' \
        "$site" $((8300 + n)) "$site" >>"$WORK/sites.yaml"
done
sleep 4
cairn sites list

step "group prod: one deployment of crm-v1 per site, installed by a rollout"
cairn groups create prod -b crm-v1 --sites-from "$WORK/sites.yaml"
cairn rollouts start install -g prod --concurrency 10 --follow

step "the update: canary, then 30%, then everyone; a site offline when its turn comes fails"
started=$(cairn rollouts start update -g prod -p blueprint_id=crm-v2 --waves 1,30%,100% \
    --soak 15s --max-failures 50% --on-failure pause --offline fail -o json)
ROLLOUT=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$started")
echo "rollout $ROLLOUT"
until cairn rollouts get "$ROLLOUT" -o json | grep -q '"succeeded": 1'; do sleep 1; done
echo "the canary (site-01) succeeded; site-07, site-08 and site-09 drop off the network"
for site in site-07 site-08 site-09; do kill "${AGENTS[$site]}"; unset "AGENTS[$site]"; done
cairn rollouts follow "$ROLLOUT" || true
cairn rollouts members "$ROLLOUT" --status failed

step "they are back: retry only those three"
for site in site-07 site-08 site-09; do start_agent "$site"; done
until [ "$(cairn sites list -o json | grep -c '"status": "online"')" -ge 10 ]; do sleep 1; done
cairn rollouts retry-failed "$ROLLOUT" --follow
curl -s http://127.0.0.1:8308/about.html | grep -o '<h1>[^<]*</h1>'

step "roll site-04 back to its previous revision"
cairn rollouts rollback "$ROLLOUT" --members prod-site-04
cairn rollouts follow "$ROLLOUT"
cairn rollouts members "$ROLLOUT"
cairn deployments history prod-site-04
curl -s -o /dev/null -w 'site-04 about.html: HTTP %{http_code}\n' http://127.0.0.1:8304/about.html
