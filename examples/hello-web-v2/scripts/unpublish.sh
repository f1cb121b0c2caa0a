#!/bin/sh
# page -> web_server unlink: take the page down.
set -eu
root="$(ctx target instance runtime-properties document_root)"
file="$(ctx source node properties file)"
rm -f "$root/$file"
