#!/bin/sh
# create: write the file as declared and remember where it is.
set -eu
path="${TMPDIR:-/tmp}/drift-file/$(ctx deployment id)/app.conf"
mkdir -p "$(dirname "$path")"
ctx node properties content > "$path"
chmod "$(ctx node properties mode)" "$path"
ctx instance runtime-properties path "$path"
ctx logger info "wrote $path"
