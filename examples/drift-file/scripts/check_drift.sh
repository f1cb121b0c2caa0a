#!/bin/sh
# check_drift: compare the file with the declaration; report what differs with `ctx returns`.
set -eu
path=$(ctx instance runtime-properties path)
want_sum=$(ctx node properties content | sha256sum | cut -d' ' -f1)
want_mode=$(ctx node properties mode)
have_sum=missing
have_mode=missing
if [ -f "$path" ]; then
  have_sum=$(sha256sum < "$path" | cut -d' ' -f1)
  have_mode=$(stat -c %a "$path")
fi
differences=""
add() {
  [ -n "$differences" ] && differences="$differences, "
  differences="$differences\"$1\": {\"expected\": \"$2\", \"actual\": \"$3\"}"
}
[ "$want_sum" = "$have_sum" ] || add content_sha256 "$want_sum" "$have_sum"
[ "$want_mode" = "$have_mode" ] || add mode "$want_mode" "$have_mode"
if [ -n "$differences" ]; then
  ctx returns @"{\"drifted\": true, \"differences\": {$differences}}"
else
  ctx returns @'{"drifted": false, "differences": {}}'
fi
