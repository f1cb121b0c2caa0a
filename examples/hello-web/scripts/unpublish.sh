#!/bin/sh
# content -> web_server unlink: take the page down.
set -eu
root="$(ctx target instance runtime-properties document_root)"
rm -f "$root/index.html"
