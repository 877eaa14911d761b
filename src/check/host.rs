//! One scenario client against a real broker: the simulation's client agent (`sim::agent::serve`,
//! the same commands, the same `SessionStore` across connections) over tokio TCP. Every stream is
//! tapped into the run's trace; what the application asks and sees is recorded with the run's
//! namespace stripped.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::names::Namespace;
use crate::harness::agent::{self, AgentContext, Command};
use crate::harness::tap::Tap;
use crate::harness::{ClientRecord, Trace, BROKER};
use crate::net::{Connector, TcpConnector};

/// Opens tapped TCP streams to the broker; the trace shows them as `client <-> broker`.
#[derive(Clone)]
pub struct TappedTcp {
    pub addr: String,
    pub host: String,
    pub trace: Trace,
}

impl Connector for TappedTcp {
    type Io = Tap<tokio::net::TcpStream>;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send {
        let (inner, host, trace) = (TcpConnector(self.addr.clone()), self.host.clone(), self.trace.clone());
        async move {
            let io = inner.connect().await?;
            Ok(Tap::new(io, host, BROKER.to_owned(), trace))
        }
    }
}

/// A running client host.
pub struct Host {
    pub commands: mpsc::UnboundedSender<Command>,
    pub record: Arc<Mutex<ClientRecord>>,
    task: JoinHandle<()>,
}

impl Host {
    /// Starts the host task for client `name`: the simulation's agent over tokio TCP, showing
    /// topics and client ids without the run's namespace.
    pub fn start(name: &str, addr: &str, trace: &Trace, namespace: Arc<Namespace>) -> Host {
        let connector = TappedTcp { addr: addr.to_owned(), host: name.to_owned(), trace: trace.clone() };
        let context = AgentContext {
            name: name.to_owned(),
            trace: trace.clone(),
            record: Arc::default(),
            shown: Some(Arc::new(move |text: &str| namespace.strip_text(text))),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let record = context.record.clone();
        let task = tokio::spawn(agent::serve(rx, connector, context));
        Host { commands: tx, record, task }
    }

    /// What the application has seen so far.
    pub fn record(&self) -> ClientRecord {
        self.record.lock().expect("record lock").clone()
    }

    /// Ends the host: the client disconnects cleanly (so no will is published after the run),
    /// then the task ends.
    pub async fn stop(self) {
        let (reply, done) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Disconnect { reply }).is_ok() {
            let _ = tokio::time::timeout(super::runner::COMMAND_TIMEOUT, done).await;
        }
        drop(self.commands);
        let mut task = self.task;
        if tokio::time::timeout(super::runner::COMMAND_TIMEOUT, &mut task).await.is_err() {
            task.abort();
        }
    }
}
