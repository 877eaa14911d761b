#!/bin/sh
# usage: launch.sh PORT CONFIG   (PORT is unused: it is already in CONFIG's `listen`)
#
# rumqttd's max_payload_size limits an incoming packet's *remaining length*
# (rumqttd 0.20.0 src/protocol/v4/mod.rs `check`: remaining_len > max_packet_size
# -> PayloadSizeLimitExceeded), and 0 would reject every CONNECT. mosquitto's
# max_packet_size limits the whole packet (remaining_length+1 > max_packet_size,
# lib/packet_mosq.c) and 0 means no limit. So the `max_payload_size = N` line is
# rewritten: N = 0 -> 268435455 (largest MQTT remaining length), N > 0 -> N - 1.
# The result is written as CONFIG.rumqttd.toml because rumqttd picks the config
# format from the file extension.
set -eu
here=$(dirname "$(readlink -f "$0")")
cfg=$2
out="$cfg.rumqttd.toml"
awk '
  /^[[:space:]]*max_payload_size[[:space:]]*=[[:space:]]*[0-9]+[[:space:]]*$/ {
    n = $0; sub(/^[^=]*=[[:space:]]*/, "", n); n = n + 0
    v = (n == 0) ? 268435455 : n - 1
    sub(/=.*/, "= " v); print; next
  }
  { print }
' "$cfg" > "$out"
exec "$here/bin/rumqttd" --quiet --config "$out"
