"""amqtt plugin used by the mqtt-sim amqtt launch configuration.

amqtt's stock AnonymousAuthPlugin with allow_anonymous: true marks every session
is_anonymous=True, and amqtt (0.12.1, broker.py _run_broadcast/_session_monitor)
then neither queues QoS 1/2 messages for an offline clean_session=0 client nor
keeps its session after disconnect. This plugin accepts every client (with or
without username) *without* marking it anonymous, so persistent sessions behave
as MQTT 3.1.1 requires. Load it by dotted path in the broker YAML:
  plugins:
    mqttsim_amqtt_plugins.AcceptAllAuthPlugin:
(with this directory on PYTHONPATH).
"""
from dataclasses import dataclass

from amqtt.plugins.base import BaseAuthPlugin


class AcceptAllAuthPlugin(BaseAuthPlugin):
    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session) -> bool:  # noqa: D102
        return True
