#!/bin/sh
# web_server create: make the document root and remember where it is.
set -eu
root="${TMPDIR:-/tmp}/hello-web/$(ctx deployment id)/www"
mkdir -p "$root"
ctx instance runtime-properties document_root "$root"
ctx logger info "document root: $root"
