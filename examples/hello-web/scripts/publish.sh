#!/bin/sh
# content -> web_server establish: write the page into the server's document root.
set -eu
root="$(ctx target instance runtime-properties document_root)"
title="$(ctx source node properties title)"
stage="$(ctx source node properties stage)"
cat >"$root/index.html" <<HTML
<!doctype html>
<title>$title</title>
<h1>$title</h1>
<p>Stage: $stage. Deployed by Cairn.</p>
HTML
ctx logger info "published $root/index.html"
