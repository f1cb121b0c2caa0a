#!/bin/sh
# update: put back only what the last check found drifted.
set -eu
path=$(ctx instance runtime-properties path)
drift=$(ctx -j instance drift)
case "$drift" in
  *content_sha256*)
    ctx node properties content > "$path"
    ctx logger info "content of $path restored" ;;
esac
case "$drift" in
  *'"mode"'*|*content_sha256*)
    chmod "$(ctx node properties mode)" "$path"
    ctx logger info "mode of $path restored" ;;
esac
