#!/bin/sh
# web_server start: run python3's http.server in the background, keep its pid.
set -eu
root="$(ctx instance runtime-properties document_root)"
port="$(ctx instance runtime-properties port)"
address="$(ctx instance runtime-properties listen_address)"
log="$(dirname "$root")/server.log"
nohup python3 -m http.server "$port" --bind "$address" --directory "$root" >"$log" 2>&1 &
pid=$!
sleep 1
if ! kill -0 "$pid" 2>/dev/null; then
    ctx logger error "http.server exited; see $log"
    exit 1
fi
ctx instance runtime-properties pid "$pid"
ctx logger info "serving $root on http://$address:$port/ (pid $pid)"
