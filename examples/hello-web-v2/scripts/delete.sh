#!/bin/sh
# web_server delete: remove the deployment's folder (document root and server log).
set -eu
root="$(ctx instance runtime-properties document_root)"
if [ -n "$root" ]; then
    rm -rf "$(dirname "$root")"
fi
