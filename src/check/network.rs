//! Real TCP to a broker under test as a [`Network`] for the scenario executor: one client host
//! per scenario client, each the simulation's agent (`harness::agent::serve`, the same commands,
//! the same `SessionStore` across connections) over tokio TCP, every stream tapped into the run's
//! trace. Client ids and topics get the run's namespace on the way out and lose it in what is
//! recorded, so expectations compare unchanged. Time is real; the broker's state is not
//! observable; faults other than a dropped connection are not supported here yet.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::names::Namespace;
use super::target::Target;
use crate::harness::agent::{self, AgentContext, ClientRecord, Command, Reply};
use crate::harness::network::{BrokerState, Network, NetworkError};
use crate::harness::tap::Tap;
use crate::harness::Outcome;
use crate::net::{Connector, TcpConnector};
use crate::trace::{Fault, Trace, BROKER};

/// Real time a command may take before it is reported pending (the simulation allows 30 s of
/// simulated time; a broker on a working network answers in milliseconds).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an expectation that does not hold yet is watched for late messages before it counts
/// as a difference. Real networks and busy machines are slower than the scenario's waits assume;
/// an expectation that holds is not waited for.
pub const GRACE: Duration = Duration::from_secs(2);

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
struct Host {
    commands: mpsc::UnboundedSender<Command>,
    record: Arc<Mutex<ClientRecord>>,
    task: JoinHandle<()>,
}

impl Host {
    /// Starts the host task for client `name`, showing topics and client ids without the run's
    /// namespace.
    fn start(name: &str, addr: &str, trace: &Trace, namespace: Arc<Namespace>) -> Host {
        let connector = TappedTcp { addr: addr.to_owned(), host: name.to_owned(), trace: trace.clone() };
        let context = AgentContext {
            name: name.to_owned(),
            trace: trace.clone(),
            record: Arc::default(),
            shown: Some(Arc::new(move |text: &str| namespace.strip_name(text))),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let record = context.record.clone();
        let task = tokio::spawn(agent::serve(rx, connector, context));
        Host { commands: tx, record, task }
    }

    /// Ends the host: the client disconnects cleanly (so no will is published after the run),
    /// then the task ends.
    async fn stop(self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Disconnect { reply }).is_ok() {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, done).await;
        }
        drop(self.commands);
        let mut task = self.task;
        if tokio::time::timeout(COMMAND_TIMEOUT, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// One scenario's clients against a real broker.
pub struct TcpNetwork {
    target: Target,
    namespace: Arc<Namespace>,
    trace: Trace,
    hosts: BTreeMap<String, Host>,
}

impl TcpNetwork {
    /// A host for each of `clients`, reaching `target` in `namespace`.
    pub fn start<'a>(target: &Target, namespace: Namespace, clients: impl Iterator<Item = &'a String>) -> TcpNetwork {
        let namespace = Arc::new(namespace);
        let trace = Trace::real_time();
        let hosts =
            clients.map(|name| (name.clone(), Host::start(name, &target.addr, &trace, namespace.clone()))).collect();
        TcpNetwork { target: target.clone(), namespace, trace, hosts }
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// What each client's application saw.
    pub fn records(&self) -> BTreeMap<String, ClientRecord> {
        self.hosts.iter().map(|(name, h)| (name.clone(), h.record.lock().expect("record lock").clone())).collect()
    }

    /// Stops every client host; the trace stays.
    pub async fn stop(self) -> Trace {
        for (_, host) in self.hosts {
            host.stop().await;
        }
        self.trace
    }

    fn host(&self, client: &str) -> Result<&Host, NetworkError> {
        self.hosts.get(client).ok_or_else(|| NetworkError::UnknownClient(client.to_owned()))
    }
}

impl Network for TcpNetwork {
    async fn command<T: Send + 'static>(
        &mut self,
        client: &str,
        make: impl FnOnce(Reply<T>) -> Command + Send,
    ) -> Result<Outcome<T>, NetworkError> {
        let (reply, rx) = oneshot::channel();
        if self.host(client)?.commands.send(make(reply)).is_err() {
            return Ok(Outcome::Failed("client host is not running".into()));
        }
        Ok(match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Outcome::Done(v),
            Ok(Ok(Err(e))) => Outcome::Failed(e),
            Ok(Err(_)) => Outcome::Failed("client host stopped".into()),
            Err(_) => Outcome::Pending,
        })
    }

    fn send(&mut self, client: &str, command: Command) -> Result<(), NetworkError> {
        let _ = self.host(client)?.commands.send(command);
        Ok(())
    }

    async fn sleep(&mut self, d: Duration) -> Result<(), NetworkError> {
        tokio::time::sleep(d).await;
        Ok(())
    }

    async fn fault(&mut self, fault: Fault) -> Result<(), NetworkError> {
        // `check::applicable` keeps scenarios with these steps from running.
        Err(NetworkError::Unsupported(format!("the fault `{fault}` over real TCP")))
    }

    fn record(&self, client: &str) -> Result<ClientRecord, NetworkError> {
        Ok(self.host(client)?.record.lock().expect("record lock").clone())
    }

    async fn broker(&mut self) -> Result<BrokerState, NetworkError> {
        Ok(BrokerState::NotObservable)
    }

    fn trace(&self) -> &Trace {
        &self.trace
    }

    fn now_ms(&self) -> u64 {
        self.trace.now_ms()
    }

    fn grace(&self) -> Duration {
        GRACE
    }

    fn client_id(&self, id: &str) -> String {
        self.namespace.client_id(id)
    }

    fn topic(&self, topic: &str) -> String {
        self.namespace.topic(topic)
    }

    fn credentials(&self) -> (Option<String>, Option<String>) {
        (self.target.username.clone(), self.target.password.clone())
    }
}
