#!/bin/sh
# web_server stop: stop the server started by start.sh, if it still runs.
set -eu
pid="$(ctx instance runtime-properties pid)"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    ctx logger info "stopped pid $pid"
fi
