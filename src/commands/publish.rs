//! `mqtt-sim pub`: connect, publish one message (`-m`, `-n`) or one per input line (`-l`), wait
//! for each QoS flow to complete, disconnect.

use std::io::BufRead;

use bytes::Bytes;

use super::{CommandError, ConnectOptions};
use crate::net::Client;
use crate::protocol::QoS;

/// What to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `-m MSG`.
    Message(String),
    /// `-n`: a zero-length message (clears a retained message when sent with `-r`).
    Null,
    /// `-l`: each line read from the input is a message.
    Lines,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubOptions {
    pub connect: ConnectOptions,
    pub topic: String,
    pub payload: Payload,
    pub qos: QoS,
    pub retain: bool,
}

/// Runs the command; `input` supplies lines for `-l`. Each PUBLISH carries the `-D publish`
/// properties (5.0).
pub async fn publish(opts: &PubOptions, input: impl BufRead) -> Result<(), CommandError> {
    let (client, _events) = Client::connect(opts.connect.connector(), opts.connect.client_options(), None).await?;
    let properties = &opts.connect.properties.publish;
    let send = |payload: Bytes| client.publish_with(&opts.topic, payload, opts.qos, opts.retain, properties.clone());
    let result = async {
        match &opts.payload {
            Payload::Message(m) => send(Bytes::from(m.clone())).await.map(drop)?,
            Payload::Null => send(Bytes::new()).await.map(drop)?,
            Payload::Lines => {
                for line in input.lines() {
                    let line = line.map_err(CommandError::Input)?;
                    send(Bytes::from(line)).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    opts.connect.disconnect(&client).await;
    result
}
