#!/bin/sh
# web_server configure: record the address and port the server will listen on.
# Operation inputs arrive as environment variables: listen_address is the host's ip.
set -eu
port="$(ctx node properties port)"
address="${listen_address:?the configure operation takes a listen_address input}"
ctx instance runtime-properties port "$port"
ctx instance runtime-properties listen_address "$address"
ctx logger info "will listen on $address:$port"
