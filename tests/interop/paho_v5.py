"""paho-mqtt in MQTT 5.0 against a broker: session expiry, message expiry in the offline queue,
subscription identifiers, user properties, topic aliases, receive maximum and shared
subscriptions. Prints one JSON line; the test compares it between our broker and mosquitto.

Usage: python3 paho_v5.py HOST PORT
"""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

host, port = sys.argv[1], int(sys.argv[2])
TIMEOUT = 10
result = {}


def client(client_id):
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, protocol=mqtt.MQTTv5)
    return mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)


def wait(event, what):
    if not event.wait(TIMEOUT):
        print(json.dumps({"error": "timeout: " + what, "so_far": result}))
        sys.exit(1)


def props(kind, **values):
    p = Properties(kind)
    for k, v in values.items():
        setattr(p, k, v)
    return p


def connect(c, clean_start, expiry=None, **more):
    """Connects and waits for CONNACK; returns [session present, reason code, CONNACK properties we compare]."""
    done = threading.Event()
    seen = {}

    def on_connect(cl, u, flags, rc, properties=None):
        p = properties.json() if properties is not None else {}
        seen["connack"] = [flags.get("session present", 0), rc.value, p.get("TopicAliasMaximum", 0) > 0]
        done.set()

    c.on_connect = on_connect
    values = dict(more)
    if expiry is not None:
        values["SessionExpiryInterval"] = expiry
    p = props(PacketTypes.CONNECT, **values) if values else None
    c.connect(host, port, 60, clean_start=clean_start, properties=p)
    c.loop_start()
    wait(done, "CONNACK")
    return seen["connack"]


def collect(c, n):
    got = []
    done = threading.Event()

    def on_message(cl, u, msg):
        p = msg.properties.json() if msg.properties is not None else {}
        got.append({
            "topic": msg.topic,
            "payload": msg.payload.decode(),
            "qos": msg.qos,
            "sub_ids": sorted(p.get("SubscriptionIdentifier", [])) if isinstance(p.get("SubscriptionIdentifier"), list) else [p.get("SubscriptionIdentifier")] if "SubscriptionIdentifier" in p else [],
            "user": p.get("UserProperty", []),
            "has_expiry": "MessageExpiryInterval" in p,
        })
        if len(got) >= n:
            done.set()

    c.on_message = on_message
    return got, done


def stop(c):
    c.disconnect()
    c.loop_stop()


def subscribe(c, topic, qos, sub_id=None):
    done = threading.Event()
    c.on_subscribe = lambda cl, u, mid, codes, properties=None: done.set()
    p = props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=sub_id) if sub_id else None
    c.subscribe(topic, options=SubscribeOptions(qos=qos), properties=p)
    wait(done, "SUBACK")


# 1. A persistent 5.0 session (expiry 600 s) with a subscription identifier; it goes offline.
reader = client("p5-reader")
result["first_connack"] = connect(reader, True, 600)
subscribe(reader, "p5/q", 1, sub_id=42)
stop(reader)

# 2. A 5.0 publisher, using a topic alias after the first message: one message that outlives
#    the wait, one that expires in the queue, one with no expiry and a user property.
writer = client("p5-writer")
connect(writer, True)
alias = lambda first, **more: props(PacketTypes.PUBLISH, TopicAlias=1, **more)
writer.publish("p5/q", "long", qos=1, properties=alias(True, MessageExpiryInterval=600)).wait_for_publish()
writer.publish("", "short", qos=1, properties=alias(False, MessageExpiryInterval=1)).wait_for_publish()
writer.publish("", "plain", qos=1, properties=alias(False, UserProperty=[("k", "v"), ("k", "w")])).wait_for_publish()
time.sleep(2.2)

# 3. Resume: the session is present; "short" expired while queued.
reader = client("p5-reader")
got, done = collect(reader, 2)
result["second_connack"] = connect(reader, False, 600)
wait(done, "two queued messages")
time.sleep(0.5)  # an expired message, or a duplicate, would arrive now
result["queued"] = got
stop(reader)

# 4. Session expiry: a session with a 1 s expiry is gone after 2 s.
brief = client("p5-brief")
connect(brief, True, 1)
subscribe(brief, "p5/brief", 1)
stop(brief)
time.sleep(2.2)
brief = client("p5-brief")
result["expired_session_connack"] = connect(brief, False, 1)
stop(brief)

# 5. Receive maximum 1: four QoS 1 messages still all arrive, in order.
slow = client("p5-slow")
got, done = collect(slow, 4)
connect(slow, True, ReceiveMaximum=1)
subscribe(slow, "p5/rm", 1)
for i in range(4):
    writer.publish("p5/rm", "r%d" % i, qos=1).wait_for_publish()
wait(done, "four messages under receive maximum 1")
result["receive_maximum"] = [m["payload"] for m in got]
stop(slow)

# 6. A shared subscription with two members: each message goes to exactly one of them.
members = []
for name in ["p5-share-a", "p5-share-b"]:
    m = client(name)
    g, d = collect(m, 100)
    connect(m, True)
    subscribe(m, "$share/grp/p5/shared", 1)
    members.append((m, g))
for i in range(6):
    writer.publish("p5/shared", "s%d" % i, qos=1).wait_for_publish()
time.sleep(1.0)
everything = sorted(msg["payload"] for _, g in members for msg in g)
result["shared_total"] = everything
result["shared_both_served"] = all(len(g) > 0 for _, g in members)
for m, _ in members:
    stop(m)
stop(writer)

print(json.dumps(result, sort_keys=True))
