//! `mqtt-sim sub`: connect, subscribe to every `-t` filter, print each message (`-v` adds the
//! topic), stop after `-C` messages or `-W` seconds, disconnect cleanly so a persistent session
//! (`-c`) stays on the broker.

use std::io::Write;
use std::time::Duration;

use super::{CommandError, ConnectOptions};
use crate::client::ClientEvent;
use crate::net::Client;
use crate::protocol::{QoS, SubackCode, SubscribeFilter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubOptions {
    pub connect: ConnectOptions,
    pub topics: Vec<String>,
    pub qos: QoS,
    /// `-C`: exit after this many messages.
    pub count: Option<usize>,
    /// `-W`: give up after this many seconds.
    pub timeout: Option<u64>,
    /// `-v`: print `topic payload` instead of the payload alone.
    pub verbose: bool,
    /// `-R`: do not print messages that arrive with RETAIN set (stale ones).
    pub no_retained: bool,
    /// `-E`: exit once the subscription is acknowledged (to create a persistent session).
    pub exit_after_subscribe: bool,
}

/// Runs the command, printing messages to `out`.
pub async fn subscribe(opts: &SubOptions, out: &mut (impl Write + Send)) -> Result<(), CommandError> {
    let work = async {
        let (client, mut events) =
            Client::connect(opts.connect.connector(), opts.connect.client_options(), None).await?;
        let filters = opts.topics.iter().map(|t| SubscribeFilter::new(t.clone(), opts.qos)).collect();
        let codes = client.subscribe_with(filters, opts.connect.properties.subscribe.clone()).await?;
        match codes.iter().position(|c| !matches!(c, SubackCode::Granted(_))).map(|i| (codes[i], &opts.topics[i])) {
            Some((SubackCode::Refused(reason), topic)) => {
                eprintln!("warning: subscription to {topic} refused by the broker: {} ({reason})", reason.name())
            }
            Some((_, topic)) => eprintln!("warning: subscription to {topic} refused by the broker"),
            None => {}
        }
        if opts.exit_after_subscribe {
            opts.connect.disconnect(&client).await;
            return Ok(());
        }
        let mut received = 0usize;
        while opts.count.is_none_or(|c| received < c) {
            match events.recv().await {
                Some(ClientEvent::Message(m)) => {
                    if opts.no_retained && m.retain {
                        continue;
                    }
                    let payload = String::from_utf8_lossy(&m.payload);
                    let line = if opts.verbose { format!("{} {payload}", m.topic) } else { payload.into_owned() };
                    writeln!(out, "{line}").map_err(CommandError::Input)?;
                    out.flush().map_err(CommandError::Input)?;
                    received += 1;
                }
                Some(ClientEvent::Disconnected { cause }) => {
                    return Err(CommandError::Connection(format!(
                        "connection closed: {}",
                        crate::client::CloseCause::describe(cause)
                    )));
                }
                Some(_) => {}
                None => return Err(CommandError::Connection("connection lost".into())),
            }
        }
        opts.connect.disconnect(&client).await;
        Ok(())
    };
    match opts.timeout {
        Some(secs) => {
            tokio::time::timeout(Duration::from_secs(secs), work).await.map_err(|_| CommandError::Timeout(secs))?
        }
        None => work.await,
    }
}
