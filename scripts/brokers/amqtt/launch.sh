#!/bin/sh
# usage: launch.sh PORT CONFIG.yaml   (PORT is unused: the port is in the YAML bind)
# exec so that SIGKILL of this pid kills the broker itself.
here=$(dirname "$(readlink -f "$0")")
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$here/venv/bin/amqtt" -c "$2"
