//! Real TCP to a broker under test as a [`Network`] for the scenario executor: one client host
//! per scenario client, each the simulation's agent (`harness::agent::serve`, the same commands,
//! the same `SessionStore` across connections) on a thread and runtime of its own, so that
//! `crash_client` can end it as a process dies: every task and socket at once. Each client
//! reaches the broker through its own fault proxy (`proxy::Link`), which performs the network
//! faults and records the broker's side of the trace; a broker started with `--launch` is
//! crashed and restarted here. Client ids and topics get the run's namespace on the way out and
//! lose it in what is recorded, so expectations compare unchanged. Time is real, and the
//! broker's state is not observable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::launch::BrokerProcess;
use super::names::Namespace;
use super::proxy::{Link, ProxyConnector};
use super::target::Target;
use crate::harness::agent::{self, AgentContext, ClientRecord, Command, Reply};
use crate::harness::network::{BrokerState, Network, NetworkError};
use crate::harness::Outcome;
use crate::net::DISCONNECT_LINGER;
use crate::trace::{Fault, Trace, TraceEvent};

/// Real time a command may take before it is reported pending (the simulation allows 30 s of
/// simulated time; a broker on a working network answers in milliseconds). Longer than the
/// client's own wait for the server to close after DISCONNECT, so a `disconnect` whose close
/// the network holds up completes as it does in the simulation.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(DISCONNECT_LINGER.as_secs() + 2);

/// How long an expectation that does not hold yet is watched for late messages before it counts
/// as a difference. Real networks and busy machines are slower than the scenario's waits assume;
/// an expectation that holds is not waited for.
pub const GRACE: Duration = Duration::from_secs(2);

/// A running client host: the agent on a thread of its own, with its own runtime.
struct Host {
    commands: mpsc::UnboundedSender<Command>,
    /// Ends the host at once, as a crash (dropped when the host stops normally).
    crash: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Host {
    /// Starts the host of client `name`, recording into `record`, showing topics and client ids
    /// without the run's namespace.
    fn start(
        name: &str,
        connector: ProxyConnector,
        trace: &Trace,
        record: Arc<Mutex<ClientRecord>>,
        namespace: Arc<Namespace>,
    ) -> Host {
        let context = AgentContext {
            name: name.to_owned(),
            trace: trace.clone(),
            record,
            shown: Some(Arc::new(move |text: &str| namespace.strip_name(text))),
        };
        let (commands, rx) = mpsc::unbounded_channel();
        let (crash, crashed) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("client {name}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a client host's runtime starts");
                runtime.block_on(async move {
                    tokio::select! {
                        biased;
                        Ok(()) = crashed => {}
                        () = agent::serve(rx, connector, context) => {}
                    }
                });
                // Dropping the runtime drops every task of the host, and with them its sockets,
                // as the OS closes a dead process's.
            })
            .expect("a client host's thread starts");
        Host { commands, crash, thread }
    }

    /// Ends the host as a crash: no DISCONNECT, every socket closed at once.
    async fn crash(self) {
        let _ = self.crash.send(());
        let _ = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }

    /// Ends the host: the client disconnects cleanly (so no will is published after the run),
    /// then the host stops.
    async fn stop(self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Disconnect { with: None, reply }).is_ok() {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, done).await;
        }
        self.crash().await;
    }
}

/// One client of the scenario: its link to the broker, what it saw, and its host while it runs.
struct Client {
    link: Link,
    record: Arc<Mutex<ClientRecord>>,
    /// `None` while crashed.
    host: Option<Host>,
}

/// One scenario's clients against a real broker.
pub struct TcpNetwork {
    target: Target,
    namespace: Arc<Namespace>,
    trace: Trace,
    clients: BTreeMap<String, Client>,
    /// The broker `--launch` started for this scenario.
    process: Option<BrokerProcess>,
}

impl TcpNetwork {
    /// A host and a link for each of `clients`, reaching the broker at `target.addr`, or at
    /// `process` when one was launched for the run; `seed` seeds the links' packet losses.
    pub async fn start<'a>(
        target: &Target,
        namespace: Namespace,
        clients: impl Iterator<Item = &'a String>,
        process: Option<BrokerProcess>,
        seed: u64,
    ) -> Result<TcpNetwork, NetworkError> {
        let namespace = Arc::new(namespace);
        let trace = Trace::real_time();
        let broker = process.as_ref().map_or_else(|| target.addr.clone(), |p| p.addr());
        let mut started = BTreeMap::new();
        for (i, name) in clients.enumerate() {
            let link = Link::start(name, &broker, &trace, seed.wrapping_add(i as u64))
                .await
                .map_err(|e| NetworkError::Failed(format!("the proxy for {name} could not listen: {e}")))?;
            let record = Arc::<Mutex<ClientRecord>>::default();
            let host = Host::start(name, link.connector(name, &trace), &trace, record.clone(), namespace.clone());
            started.insert(name.clone(), Client { link, record, host: Some(host) });
        }
        Ok(TcpNetwork { target: target.clone(), namespace, trace, clients: started, process })
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// What each client's application saw.
    pub fn records(&self) -> BTreeMap<String, ClientRecord> {
        self.clients.keys().map(|name| (name.clone(), self.record_of(name).expect("a known client"))).collect()
    }

    /// What `client`'s application saw, less messages on another run's topics: those are the
    /// broker's unsubscribed deliveries, which the invariants report under their own statement
    /// [MQTT-3.3.2-3] (from the trace, which keeps them), not differences of this scenario.
    fn record_of(&self, client: &str) -> Result<ClientRecord, NetworkError> {
        let c = self.clients.get(client).ok_or_else(|| NetworkError::UnknownClient(client.to_owned()))?;
        let mut record = c.record.lock().expect("record lock").clone();
        record.messages.retain(|(_, m)| !self.namespace.is_other_run(&m.topic));
        Ok(record)
    }

    /// If the launched broker exited without a `crash_broker` step: how, with its last output.
    pub fn broker_exited(&mut self) -> Option<String> {
        self.process.as_mut()?.exited()
    }

    /// Stops every client host, all at once (a client behind a held link waits out its
    /// DISCONNECT), then the launched broker; the trace stays.
    pub async fn stop(mut self) -> Trace {
        let mut stopping = tokio::task::JoinSet::new();
        for (_, client) in std::mem::take(&mut self.clients) {
            if let Some(host) = client.host {
                // The link goes with the host, so its connections last until the host is done.
                stopping.spawn(async move {
                    host.stop().await;
                    drop(client.link);
                });
            }
        }
        while stopping.join_next().await.is_some() {}
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
        self.trace
    }

    fn client(&mut self, name: &str) -> Result<&mut Client, NetworkError> {
        self.clients.get_mut(name).ok_or_else(|| NetworkError::UnknownClient(name.to_owned()))
    }

    fn host(&mut self, name: &str) -> Result<Option<&Host>, NetworkError> {
        Ok(self.client(name)?.host.as_ref())
    }

    fn note_fault(&self, fault: Fault) {
        self.note(|ms| TraceEvent::Fault { ms, fault });
    }

    /// The launched broker, for the broker faults.
    fn process(&mut self, fault: &Fault) -> Result<&mut BrokerProcess, NetworkError> {
        // `check::applicable` keeps scenarios with broker faults from running without --launch.
        self.process.as_mut().ok_or_else(|| NetworkError::Unsupported(format!("`{fault}` without --launch")))
    }
}

impl Network for TcpNetwork {
    async fn command<T: Send + 'static>(
        &mut self,
        client: &str,
        make: impl FnOnce(Reply<T>) -> Command + Send,
    ) -> Result<Outcome<T>, NetworkError> {
        let (reply, rx) = oneshot::channel();
        let Some(host) = self.host(client)? else {
            return Ok(Outcome::Failed("client host crashed".into()));
        };
        if host.commands.send(make(reply)).is_err() {
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
        // A host that is down drops it, as in the simulation.
        if let Some(host) = self.host(client)? {
            let _ = host.commands.send(command);
        }
        Ok(())
    }

    fn command_timeout(&self) -> Duration {
        COMMAND_TIMEOUT
    }

    async fn sleep(&mut self, d: Duration) -> Result<(), NetworkError> {
        tokio::time::sleep(d).await;
        Ok(())
    }

    async fn fault(&mut self, fault: Fault) -> Result<(), NetworkError> {
        match &fault {
            // A client command with an outcome: the executor sends `Command::Drop` itself.
            Fault::LoseConnection { .. } => {
                return Err(NetworkError::Unsupported("lose_connection as a fault".into()));
            }
            // As in the simulation, a restart of a running broker does nothing and is not noted.
            Fault::RestartBroker if self.process(&fault)?.running() => return Ok(()),
            _ => {}
        }
        self.note_fault(fault.clone());
        match &fault {
            Fault::Partition { client, direction } => self.client(client)?.link.partition(*direction),
            Fault::Heal { client } => self.client(client)?.link.heal(),
            Fault::Hold { client } => self.client(client)?.link.hold(),
            Fault::Release { client } => self.client(client)?.link.release(),
            Fault::Latency { client, ms } => self.client(client)?.link.set_latency(Duration::from_millis(*ms)),
            Fault::PacketLoss { client, rate } => self.client(client)?.link.set_packet_loss(*rate),
            Fault::CrashBroker => self.process(&fault)?.kill().await,
            Fault::RestartBroker => {
                self.process(&fault)?.restart().await.map_err(|e| NetworkError::Failed(e.to_string()))?
            }
            Fault::CrashClient { client } => {
                if let Some(host) = self.client(client)?.host.take() {
                    host.crash().await;
                }
            }
            Fault::RestartClient { client } => {
                let (trace, namespace) = (self.trace.clone(), self.namespace.clone());
                let c = self.client(client)?;
                if let Some(old) = c.host.take() {
                    old.crash().await;
                }
                let connector = c.link.connector(client, &trace);
                c.host = Some(Host::start(client, connector, &trace, c.record.clone(), namespace));
            }
            Fault::LoseConnection { .. } => unreachable!("refused above"),
        }
        Ok(())
    }

    fn record(&self, client: &str) -> Result<ClientRecord, NetworkError> {
        self.record_of(client)
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
