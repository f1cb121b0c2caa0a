#!/bin/sh
# check_status: the file must exist (a failed check makes `heal` reinstall the instance).
set -eu
path=$(ctx instance runtime-properties path)
if [ ! -f "$path" ]; then
  echo "$path is missing" >&2
  exit 1
fi
