#!/bin/sh
# Runs `mqtt-sim check --launch` against mosquitto (Debian's package) and the three brokers
# scripts/brokers/install.sh installs, one after another, each with its report in
# target/broker-reports/NAME. What they found is in docs/brokers.md. Usage, from the project:
#   cargo build --release && scripts/brokers/check-all.sh [SCENARIOS...]
set -u
root=$(dirname "$(readlink -f "$0")")/../..
cd "$root"
b=scripts/brokers
sim=${MQTT_SIM:-target/release/mqtt-sim}
paths=${*:-scenarios}
run() {
  name=$1; shift
  echo "== $name"
  "$sim" check --broker-name "$name" --parallel 8 --max-wait 60s --report "target/broker-reports/$name" "$@" $paths \
    > "target/broker-reports/$name.txt"
  tail -n +1 "target/broker-reports/$name.txt" | grep -E "^\`" || true
}
mkdir -p target/broker-reports
run mosquitto --launch 'mosquitto -c {config}'
run aedes --launch "node $b/aedes/launch.js {port} {config}" --config-template "$b/aedes/aedes.json.tmpl"
run amqtt --launch "$b/amqtt/launch.sh {port} {config}" --config-template "$b/amqtt/amqtt.yaml.tmpl"
run rumqttd --launch "$b/rumqttd/launch.sh {port} {config}" --config-template "$b/rumqttd/rumqttd.toml.tmpl"
