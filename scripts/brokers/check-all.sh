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
  grep -E "^\`" "target/broker-reports/$name.txt" || true
}
mkdir -p target/broker-reports
run mosquitto --launch 'mosquitto -c {config}'
for name in aedes amqtt rumqttd; do
  case $name in
    aedes) launch="node $b/aedes/launch.js {port} {config}"; template=$b/aedes/aedes.json.tmpl ;;
    amqtt) launch="$b/amqtt/launch.sh {port} {config}"; template=$b/amqtt/amqtt.yaml.tmpl ;;
    rumqttd) launch="$b/rumqttd/launch.sh {port} {config}"; template=$b/rumqttd/rumqttd.toml.tmpl ;;
  esac
  # declared.conf: what the broker has for the settings its template cannot set.
  run $name --launch "$launch" --config-template "$template" --broker-config "$b/$name/declared.conf"
done
