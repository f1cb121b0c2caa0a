#!/bin/sh
# page -> web_server establish: write the page into the server's document root.
set -eu
root="$(ctx target instance runtime-properties document_root)"
file="$(ctx source node properties file)"
title="$(ctx source node properties title)"
stage="$(ctx source node properties stage)"
footer="$(ctx source node properties footer)"
cat >"$root/$file" <<HTML
<!doctype html>
<title>$title</title>
<h1>$title</h1>
<p>Stage: $stage. Deployed by Cairn.</p>
<footer>$footer</footer>
HTML
ctx logger info "published $root/$file"
