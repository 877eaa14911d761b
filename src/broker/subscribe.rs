//! SUBSCRIBE and UNSUBSCRIBE (spec sections 3.8 to 3.11 of both versions): the subscription
//! options a 5.0 client asks for (No Local, Retain As Published, Retain Handling, a
//! Subscription Identifier, shared filters), the SUBACK and UNSUBACK codes, and the retained
//! messages a new subscription is sent.

use std::sync::Arc;

use super::session::Outgoing;
use super::subscriptions::SubOptions;
use super::{Broker, ConnId};
use crate::protocol::{
    Packet, ReasonCode, RetainHandling, Suback, SubackCode, Subscribe, Unsuback, Unsubscribe, Version,
};
use crate::time::Time;
use crate::topic;

impl Broker {
    pub(super) fn handle_subscribe(&mut self, conn: ConnId, client_id: &str, subscribe: Subscribe, now: Time) {
        let v5 = self.version(conn) == Version::V5;
        // Offered, so kept with each filter of this SUBSCRIBE and sent with what they match
        // [MQTT5-3.3.4-3] (the codec refuses 0 and values above 268,435,455).
        let id = if v5 { subscribe.properties.subscription_identifier().copied() } else { None };
        // Handled as a sequence of single subscriptions, answered by one SUBACK with a code per
        // filter, in order [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT5-3.8.4-5]
        // [MQTT5-3.8.4-6] [MQTT5-3.9.3-1].
        let mut codes = Vec::with_capacity(subscribe.filters.len());
        let mut retained_for: Vec<(String, SubOptions)> = Vec::new();
        for f in &subscribe.filters {
            if topic::levels(&f.filter) > topic::MAX_LEVELS {
                // Refused alone, with the failure code [MQTT-3.9.3-2]; the other filters stand.
                codes.push(SubackCode::Failure);
                continue;
            }
            // `$share/` makes a shared subscription only in 5.0 (section 4.8.2).
            let shared = v5 && topic::shared(&f.filter).ok().flatten().is_some();
            let options = SubOptions {
                qos: f.qos,
                no_local: v5 && f.no_local,
                retain_as_published: v5 && f.retain_as_published,
                id,
                shared,
            };
            // An identical filter replaces the old subscription [MQTT-3.8.4-3] [MQTT5-3.8.4-3].
            let existed = self.subscriptions.insert(&f.filter, client_id, options).is_some();
            self.changes += 1;
            let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
            session.subscriptions.insert(f.filter.clone(), options);
            codes.push(SubackCode::Granted(f.qos));
            // Retained messages as Retain Handling says [MQTT5-3.3.1-9] [MQTT5-3.3.1-10]
            // [MQTT5-3.3.1-11] (3.1.1 always sends them, also for a replaced subscription
            // [MQTT-3.8.4-3]); none for a shared subscription, as in mosquitto (section
            // 3.3.1.3 sends them for a new non-shared subscription).
            let wanted = match f.retain_handling {
                RetainHandling::OnSubscribe => true,
                RetainHandling::OnNewSubscription => !existed,
                RetainHandling::Never => false,
            };
            if wanted && !shared {
                retained_for.push((f.filter.clone(), options));
            }
        }
        // Same packet id as the SUBSCRIBE [MQTT-3.8.4-2] [MQTT-2.3.1-7].
        self.send(conn, Packet::Suback(Suback::new(subscribe.pkid, codes)));
        // Retained messages follow the SUBACK, as in mosquitto, with RETAIN=1 [MQTT-3.3.1-6]
        // [MQTT-3.3.1-8], at most at the granted QoS [MQTT5-3.8.4-8], with the subscription's
        // identifier.
        for (filter, options) in retained_for {
            let retained: Vec<Outgoing> = self
                .retained
                .matching(&filter, now)
                .map(|msg| Outgoing {
                    ids: options.id.into_iter().collect(),
                    ..Outgoing::new(Arc::clone(msg), msg.qos.min(options.qos), true)
                })
                .collect();
            #[cfg(feature = "mutants")]
            let retained: Vec<Outgoing> =
                if self.config.mutant == Some(crate::mutants::Mutant::RetainedWithoutRetainFlag) {
                    retained.into_iter().map(|o| Outgoing { retain: false, ..o }).collect()
                } else {
                    retained
                };
            for out in retained {
                self.deliver(client_id, out);
            }
        }
    }

    pub(super) fn handle_unsubscribe(&mut self, conn: ConnId, client_id: &str, unsubscribe: Unsubscribe) {
        let mut reasons = Vec::with_capacity(unsubscribe.filters.len());
        for filter in &unsubscribe.filters {
            // Exact comparison [MQTT-3.10.4-1]; new messages stop [MQTT-3.10.4-2]; deliveries
            // already inflight or queued complete [MQTT-3.10.4-3].
            let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
            let existed = session.subscriptions.remove(filter);
            if let Some(options) = existed {
                self.subscriptions.remove(filter, options.shared, client_id);
                self.changes += 1;
            }
            reasons.push(if existed.is_some() { ReasonCode::SUCCESS } else { ReasonCode::NO_SUBSCRIPTION_EXISTED });
        }
        // Always answered, even if nothing matched [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6];
        // in 5.0 with a code per filter, in order [MQTT5-3.11.3-1] [MQTT5-3.10.4-5].
        let mut unsuback = Unsuback::new(unsubscribe.pkid);
        if self.version(conn) == Version::V5 {
            unsuback.reasons = reasons;
        }
        self.send(conn, Packet::Unsuback(unsuback));
    }
}
