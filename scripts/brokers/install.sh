#!/bin/sh
# Installs the three brokers docs/brokers.md checks besides mosquitto, next to their launch
# scripts in scripts/brokers/: aedes 1.2.0 (npm), amqtt 0.12.1 (PyPI, in a venv) and rumqttd
# 0.20.0 (crates.io; about 9 minutes on 2 cores). Idempotent. Needs node/npm, python3 and cargo.
set -eu
here=$(dirname "$(readlink -f "$0")")
(cd "$here/aedes" && npm install --no-audit --no-fund)
[ -x "$here/amqtt/venv/bin/amqtt" ] || {
  python3 -m venv "$here/amqtt/venv"
  "$here/amqtt/venv/bin/pip" install -q amqtt==0.12.1
}
# Not --locked: rumqttd 0.20.0's lock file pins metrics 0.22.1, which no longer compiles with
# current Rust; the unlocked resolution takes metrics 0.22.4.
[ -x "$here/rumqttd/bin/rumqttd" ] || CARGO_TARGET_DIR="$here/rumqttd/target" \
  nice -n 19 cargo install rumqttd --version 0.20.0 --root "$here/rumqttd" -j 1
