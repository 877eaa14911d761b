"""paho-mqtt against a broker: a persistent QoS 2 subscriber goes offline, QoS 1/2 messages are
published, and on reconnect it must receive each exactly once, in order. Prints one JSON line.

Usage: python3 paho_persistent_session.py HOST PORT
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

host, port = sys.argv[1], int(sys.argv[2])
TIMEOUT = 10


def client(client_id, clean):
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, clean_session=clean)
    return mqtt.Client(client_id=client_id, clean_session=clean)


def wait(event, what):
    if not event.wait(TIMEOUT):
        print(json.dumps({"error": "timeout: " + what}))
        sys.exit(1)


result = {}

# 1. Persistent subscriber: subscribe at QoS 2, disconnect cleanly.
sub = client("paho-reader", False)
subscribed = threading.Event()
connected = threading.Event()
sub.on_connect = lambda c, u, flags, rc: (result.setdefault("first_connack", [flags.get("session present", 0), rc]), connected.set())
sub.on_subscribe = lambda c, u, mid, granted: (result.__setitem__("granted", list(granted)), subscribed.set())
sub.connect(host, port, 60)
sub.loop_start()
wait(connected, "first CONNACK")
sub.subscribe("paho/#", 2)
wait(subscribed, "SUBACK")
sub.disconnect()
sub.loop_stop()

# 2. Publisher: QoS 1 and 2, one retained, waiting for each flow to complete.
pub = client("paho-writer", True)
pub.connect(host, port, 60)
pub.loop_start()
for i, (qos, retain) in enumerate([(1, False), (2, False), (2, True), (1, True), (0, False)]):
    info = pub.publish("paho/m", "m%d" % i, qos=qos, retain=retain)
    info.wait_for_publish()
pub.disconnect()
pub.loop_stop()

# 3. Reconnect: the session is present, the four QoS 1/2 messages arrive once, in order.
got = []
done = threading.Event()
reconnected = threading.Event()


def on_message(c, u, msg):
    got.append([msg.topic, msg.payload.decode(), msg.qos, int(msg.retain), int(msg.dup)])
    if len(got) >= 4:
        done.set()


sub = client("paho-reader", False)
sub.on_message = on_message
sub.on_connect = lambda c, u, flags, rc: (result.__setitem__("second_connack", [flags.get("session present", 0), rc]), reconnected.set())
sub.connect(host, port, 60)
sub.loop_start()
wait(reconnected, "second CONNACK")
wait(done, "four messages")
time.sleep(0.5)  # anything extra (a duplicate) would arrive now
sub.disconnect()
sub.loop_stop()
# Order is promised per publisher, topic and QoS [MQTT-4.6.0-6]; paho hands QoS 2 messages to the
# application on PUBREL, so across QoS levels the application order may differ from the wire order.
result["received_qos1"] = [m for m in got if m[2] == 1]
result["received_qos2"] = [m for m in got if m[2] == 2]
print(json.dumps(result))
