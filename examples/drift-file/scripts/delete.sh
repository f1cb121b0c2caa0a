#!/bin/sh
set -eu
rm -f "$(ctx instance runtime-properties path)"
