//! The well-behaved side of the load: pairs of persistent sessions (clean session 0) exchanging
//! QoS 1 and QoS 2 messages through the broker with our `net::Client`, the subscriber dropping
//! its connection midway and resuming its session, and a record of what arrived, to judge that
//! nothing was lost, nothing at QoS 2 arrived twice and the order held.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::{ClientEvent, ClientOptions};
use crate::net::{Client, ClientError, ReconnectPolicy, SessionStore, TcpConnector};
use crate::protocol::{QoS, SubscribeFilter};

/// What one pair's subscriber saw of its publisher's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairOutcome {
    pub index: usize,
    /// Messages the publisher completed (PUBACK or PUBCOMP received).
    pub published: usize,
    /// Distinct messages the subscriber received.
    pub delivered: usize,
    /// Sequence numbers published and never received.
    pub missing: Vec<u32>,
    /// QoS 2 messages handed over more than once [MQTT-4.3.3-2].
    pub qos2_duplicates: usize,
    /// QoS 1 messages received again (allowed at least once, counted for the record).
    pub qos1_redeliveries: usize,
    /// First receipts that came after a later message of the same QoS from the same publisher
    /// [MQTT-4.6.0-5].
    pub out_of_order: usize,
    /// Messages that arrived with a QoS other than the one published (nothing here downgrades).
    pub wrong_qos: usize,
    /// Whether the subscriber's session was resumed (session present) after its drop.
    pub resumed: bool,
    /// What failed, if the pair could not finish.
    pub errors: Vec<String>,
}

/// Runs pair `index`: subscriber `load-sub-{index}` on `load/{index}` at QoS 2 and publisher
/// `load-pub-{index}` sending `messages` messages alternating QoS 1 and 2. After half of them have
/// arrived, the subscriber drops its connection without DISCONNECT, waits `offline`, and resumes.
/// At the end both sessions are cleared (a clean-session connect) so the broker keeps nothing.
pub(super) async fn run_pair(
    addr: String,
    index: usize,
    messages: u32,
    offline: Duration,
    patience: Duration,
) -> PairOutcome {
    let mut outcome = PairOutcome { index, ..PairOutcome::default() };
    if let Err(e) = exchange(&addr, index, messages, offline, patience, &mut outcome).await {
        outcome.errors.push(e);
    }
    for id in [format!("load-sub-{index}"), format!("load-pub-{index}")] {
        if let Err(e) = clear_session(&addr, &id).await {
            outcome.errors.push(format!("clearing {id}: {e}"));
        }
    }
    outcome
}

async fn exchange(
    addr: &str,
    index: usize,
    messages: u32,
    offline: Duration,
    patience: Duration,
    outcome: &mut PairOutcome,
) -> Result<(), String> {
    let topic = format!("load/{index}");
    let sub_store = SessionStore::new();
    let sub_options = ClientOptions::new(format!("load-sub-{index}"), false);
    let reconnect = Some(ReconnectPolicy { initial: Duration::from_millis(50), max: Duration::from_secs(1) });
    let (sub, mut sub_events) =
        Client::connect_resuming(TcpConnector(addr.to_owned()), sub_options.clone(), reconnect, &sub_store)
            .await
            .map_err(|e| format!("subscriber connect: {e}"))?;
    sub.subscribe(vec![SubscribeFilter::new(topic.clone(), QoS::ExactlyOnce)])
        .await
        .map_err(|e| format!("subscribe: {e}"))?;

    let publisher_options = ClientOptions::new(format!("load-pub-{index}"), false);
    let (publisher, _publisher_events) =
        Client::connect_resuming(TcpConnector(addr.to_owned()), publisher_options, reconnect, &SessionStore::new())
            .await
            .map_err(|e| format!("publisher connect: {e}"))?;
    let publishing = tokio::spawn(async move {
        let mut done = 0;
        for seq in 0..messages {
            let qos = qos_of(seq);
            if let Err(e) = publisher.publish(format!("load/{index}"), seq.to_string(), qos, false).await {
                return (done, Some(format!("publish {seq}: {e}")));
            }
            done += 1;
        }
        publisher.disconnect().await;
        (done, None)
    });

    let mut record = Record::default();
    let deadline = Instant::now() + patience;
    let (mut sub, mut dropped) = (sub, false);
    while record.seen.len() < messages as usize {
        if !dropped && record.seen.len() >= messages as usize / 2 {
            // Drop the connection as a crash would; the session lives on in the broker and in
            // `sub_store`, and the messages published meanwhile queue for it [MQTT-3.1.2-5].
            sub.abort().await;
            // What the old connection handed over before the drop is still in its event stream.
            while let Ok(Some(event)) = tokio::time::timeout_at(deadline, sub_events.recv()).await {
                record.event(event, outcome);
            }
            tokio::time::sleep(offline).await;
            let (client, events) =
                Client::connect_resuming(TcpConnector(addr.to_owned()), sub_options.clone(), reconnect, &sub_store)
                    .await
                    .map_err(|e| format!("subscriber resume: {e}"))?;
            (sub, sub_events, dropped) = (client, events, true);
            match sub_events.recv().await {
                Some(ClientEvent::Connected { session_present }) => outcome.resumed = session_present,
                other => return Err(format!("subscriber resume: expected Connected, got {other:?}")),
            }
            continue;
        }
        match tokio::time::timeout_at(deadline, sub_events.recv()).await {
            Ok(Some(event)) => record.event(event, outcome),
            Ok(None) | Err(_) => break,
        }
    }
    sub.disconnect().await;
    let (published, error) = publishing.await.map_err(|e| format!("publisher task: {e}"))?;
    outcome.published = published;
    outcome.errors.extend(error);
    outcome.delivered = record.seen.len();
    outcome.missing = (0..published as u32).filter(|seq| !record.seen.contains_key(seq)).collect();
    Ok(())
}

fn qos_of(seq: u32) -> QoS {
    if seq % 2 == 0 {
        QoS::AtLeastOnce
    } else {
        QoS::ExactlyOnce
    }
}

/// The messages one subscriber received, by sequence number.
#[derive(Default)]
struct Record {
    /// Copies received of each sequence number.
    seen: BTreeMap<u32, usize>,
    /// The highest sequence number received so far, by QoS.
    highest: BTreeMap<u8, u32>,
}

impl Record {
    fn event(&mut self, event: ClientEvent, outcome: &mut PairOutcome) {
        let ClientEvent::Message(message) = event else { return };
        let Some(seq) = std::str::from_utf8(&message.payload).ok().and_then(|s| s.parse::<u32>().ok()) else {
            outcome.errors.push(format!("unexpected payload {:?}", message.payload));
            return;
        };
        if message.qos != qos_of(seq) {
            outcome.wrong_qos += 1;
        }
        let copies = self.seen.entry(seq).or_insert(0);
        *copies += 1;
        if *copies > 1 {
            match message.qos {
                QoS::ExactlyOnce => outcome.qos2_duplicates += 1,
                _ => outcome.qos1_redeliveries += 1,
            }
            return;
        }
        let highest = self.highest.entry(message.qos as u8).or_insert(seq);
        if seq < *highest {
            outcome.out_of_order += 1;
        }
        *highest = (*highest).max(seq);
    }
}

/// Connects with clean session 1 and disconnects: the broker discards the stored session
/// [MQTT-3.1.2-6], so after the load it holds nothing for this pair.
async fn clear_session(addr: &str, client_id: &str) -> Result<(), ClientError> {
    let (client, _events) =
        Client::connect(TcpConnector(addr.to_owned()), ClientOptions::new(client_id, true), None).await?;
    client.disconnect().await;
    Ok(())
}
