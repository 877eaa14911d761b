//! A simulated world: one broker host and any number of client hosts in turmoil, running the real
//! broker and client code. The world is the controller: it sends commands to client agents and
//! steps the simulation until they complete, injects faults between steps, and reads the trace,
//! what each application received, and the broker's state. All randomness comes from one seed.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use super::hosts::{self, AgentShared, TappedListener};
use crate::broker::{Broker, BrokerView, Config, Event};
use crate::client::ClientOptions;
use crate::harness::agent::{ClientRecord, Command, Reply};
use crate::harness::Outcome;
use crate::net::{run_broker_monitored, BrokerMonitor, Persistence, Stop};
use crate::persist::{PersistenceConf, Persister, SimStorage};
use crate::protocol::{QoS, SubackCode, SubscribeFilter};
use crate::scenario::model::Direction;
use crate::time::Time;
use crate::trace::BROKER;
use crate::trace::{BrokerEvent, Fault};
use crate::trace::{Trace, TraceEvent};

/// How a world is built.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The one seed every random choice comes from.
    pub seed: u64,
    pub broker: Config,
    /// Each message's latency is drawn between these (turmoil's exponential distribution).
    pub min_latency: Duration,
    pub max_latency: Duration,
    /// Simulated time a command may take before it is reported as still pending.
    pub command_timeout: Duration,
    /// The probability that the simulated disk makes a write durable on its own, without a
    /// sync (turmoil's `sync_probability`; 0: only a sync does).
    pub disk_sync_probability: f64,
    /// Torn writes: a crash keeps a random number of whole blocks of this size from the start
    /// of each unsynced write (turmoil's `block_size`; `None`: all or nothing).
    pub disk_block_size: Option<u64>,
    /// The known bug the broker and every client run with.
    #[cfg(feature = "mutants")]
    pub mutant: Option<crate::mutants::Mutant>,
}

impl WorldConfig {
    pub fn new(seed: u64) -> WorldConfig {
        WorldConfig {
            seed,
            broker: Config::default(),
            min_latency: Duration::from_millis(1),
            max_latency: Duration::from_millis(20),
            command_timeout: Duration::from_secs(30),
            disk_sync_probability: 0.0,
            disk_block_size: None,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }
}

/// Why the simulation itself failed.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A host's software returned an error or panicked.
    #[error("simulation failed: {0}")]
    Sim(String),
    /// The scenario named a client the world does not have.
    #[error("no client named {0:?}")]
    UnknownClient(String),
}

#[derive(Default)]
struct MonitorState {
    want_view: bool,
    view: Option<BrokerView>,
}

/// Records broker events in the trace and hands out state views on request.
struct SimMonitor {
    trace: Trace,
    state: Arc<Mutex<MonitorState>>,
    wake: Arc<Notify>,
}

impl BrokerMonitor for SimMonitor {
    fn on_event(&mut self, _now: Time, event: &Event) {
        let event = match event {
            Event::Dropped { client_id, topic, qos, reason } => BrokerEvent::Dropped {
                client_id: client_id.clone(),
                topic: topic.clone(),
                qos: qos.as_u8(),
                reason: *reason,
            },
            Event::Connected { client_id, clean_session, session_present, .. } => BrokerEvent::SessionConnected {
                client_id: client_id.clone(),
                clean: *clean_session,
                session_present: *session_present,
            },
            Event::Disconnected { client_id: Some(client_id), reason, .. } => {
                BrokerEvent::SessionOffline { client_id: client_id.clone(), reason: reason.clone() }
            }
            Event::Disconnected { client_id: None, reason, .. } => {
                BrokerEvent::ClosedBeforeConnect { reason: reason.clone() }
            }
            Event::SessionDiscarded { client_id } => BrokerEvent::SessionDiscarded { client_id: client_id.clone() },
            Event::Durable => BrokerEvent::Durable,
            Event::Saved { sessions, messages, retained } => {
                BrokerEvent::Saved { sessions: *sessions, messages: *messages, retained: *retained }
            }
            Event::Compacted { commits } => BrokerEvent::Compacted { commits: *commits },
            Event::LogRepaired { at, dropped, .. } => BrokerEvent::LogRepaired { at: *at, dropped: *dropped },
            Event::SessionRestored { client_id, subscriptions, messages } => BrokerEvent::SessionRestored {
                client_id: client_id.clone(),
                subscriptions: subscriptions.iter().map(|(f, q)| (f.clone(), q.as_u8())).collect(),
                messages: *messages,
            },
            Event::WillPublished { client_id, topic } => {
                BrokerEvent::WillPublished { client_id: client_id.clone(), topic: topic.clone() }
            }
            Event::PublishRefused { client_id, topic, reason } => {
                BrokerEvent::PublishRefused { client_id: client_id.clone(), topic: topic.clone(), reason: reason.0 }
            }
            Event::WillDelayed { client_id, topic, until } => BrokerEvent::WillDelayed {
                client_id: client_id.clone(),
                topic: topic.clone(),
                until_ms: until.since_epoch().as_millis() as u64,
            },
            Event::WillCancelled { client_id, topic } => {
                BrokerEvent::WillCancelled { client_id: client_id.clone(), topic: topic.clone() }
            }
            Event::IncomingPacketIdReused { client_id, pkid, replaced_topic, topic } => BrokerEvent::PacketIdReused {
                client_id: client_id.clone(),
                pkid: pkid.get(),
                replaced_topic: replaced_topic.clone(),
                topic: topic.clone(),
            },
        };
        self.trace.push(TraceEvent::Broker { ms: self.trace.now_ms(), event });
    }

    fn on_step(&mut self, broker: &Broker) {
        let mut state = self.state.lock().expect("monitor lock");
        if state.want_view {
            state.want_view = false;
            state.view = Some(broker.inspect());
        }
    }

    fn wakeup(&self) -> impl Future<Output = ()> + Send + '_ {
        self.wake.notified()
    }
}

struct ClientHost {
    commands: mpsc::UnboundedSender<Command>,
    shared: AgentShared,
}

/// The simulated world. See the module docs.
pub struct World {
    sim: turmoil::Sim<'static>,
    config: WorldConfig,
    trace: Trace,
    clients: BTreeMap<String, ClientHost>,
    monitor: Arc<Mutex<MonitorState>>,
    wake: Arc<Notify>,
    /// Stops the broker's driver, which closes its connections in a fixed order.
    stop: Arc<Notify>,
}

impl World {
    pub fn new(config: WorldConfig) -> World {
        let mut sim = turmoil::Builder::new();
        let sim = sim
            .rng_seed(config.seed)
            .enable_random_order()
            // A fixed epoch: turmoil's default is the wall clock.
            .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .simulation_duration(Duration::from_secs(365 * 24 * 3600))
            .min_message_latency(config.min_latency)
            .max_message_latency(config.max_latency);
        sim.fs().sync_probability(config.disk_sync_probability);
        if let Some(size) = config.disk_block_size {
            sim.fs().block_size(size);
        }
        let mut sim = sim.build();
        // Simulated time since the start, read by whichever host is running (0 outside one).
        let trace = Trace::new(Arc::new(|| turmoil::sim_elapsed().unwrap_or(Duration::ZERO).as_millis() as u64));
        let monitor = Arc::new(Mutex::new(MonitorState::default()));
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let (t, m, w, c, st) = (trace.clone(), monitor.clone(), wake.clone(), config.broker.clone(), stop.clone());
        #[cfg(feature = "mutants")]
        let c = Config { mutant: config.mutant, ..c };
        sim.host(BROKER, move || {
            let monitor = SimMonitor { trace: t.clone(), state: m.clone(), wake: w.clone() };
            let (trace, config, stop) = (t.clone(), c.clone(), st.clone());
            async move {
                let inner = turmoil::net::TcpListener::bind("0.0.0.0:1883").await?;
                let listener = TappedListener { inner, host: BROKER.to_owned(), trace };
                // The simulated disk of this host, and the simulation's clock as the wall clock
                // (it goes on across a crash); the world only ever stops the broker by crashing it.
                // A relative `persistence_location` is under /var/lib/mosquitto (the simulated
                // disk has no working directory).
                let mut conf = PersistenceConf::of(&config);
                conf.location = std::path::Path::new("/var/lib/mosquitto").join(&conf.location);
                let persistence = config.persistence.then(|| Persistence {
                    persister: Persister::new(conf, Box::new(SimStorage)),
                    wall_ms: Box::new(|| turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64),
                    // An fsync on an SSD: the window in which a crash loses a written commit.
                    sync_delay: Some(Duration::from_millis(2)),
                });
                let stop = async move {
                    stop.notified().await;
                    Stop::Crash
                };
                run_broker_monitored(listener, config, persistence, stop, monitor).await?;
                Ok(())
            }
        });
        World { sim, config, trace, clients: BTreeMap::new(), monitor, wake, stop }
    }

    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// Adds a client host named `name` (also its name on the network).
    pub fn add_client(&mut self, name: &str) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = AgentShared {
            name: name.to_owned(),
            broker: BROKER.to_owned(),
            trace: self.trace.clone(),
            record: Arc::default(),
            commands: Arc::new(Mutex::new(Some(rx))),
        };
        let s = shared.clone();
        self.sim.host(name, move || hosts::run(s.clone()));
        self.clients.insert(name.to_owned(), ClientHost { commands: tx, shared });
    }

    pub fn client_names(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.sim.elapsed()
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// What `client`'s application has seen so far.
    pub fn record(&self, client: &str) -> Result<ClientRecord, WorldError> {
        let host = self.clients.get(client).ok_or_else(|| WorldError::UnknownClient(client.to_owned()))?;
        Ok(host.shared.record.lock().expect("record lock").clone())
    }

    fn note_fault(&self, fault: Fault) {
        self.trace.push(TraceEvent::Fault { ms: self.sim.elapsed().as_millis() as u64, fault });
    }

    fn step(&mut self) -> Result<(), WorldError> {
        self.sim.step().map(drop).map_err(|e| WorldError::Sim(e.to_string()))
    }

    /// Advances simulated time by `d`.
    pub fn sleep(&mut self, d: Duration) -> Result<(), WorldError> {
        let until = self.sim.elapsed() + d;
        while self.sim.elapsed() < until {
            self.step()?;
        }
        Ok(())
    }

    /// Sends a command to `client`'s agent and steps the simulation until it replies, or until
    /// `command_timeout` of simulated time has passed (`Pending`).
    pub fn command<T>(
        &mut self,
        client: &str,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<Outcome<T>, WorldError> {
        let host = self.clients.get(client).ok_or_else(|| WorldError::UnknownClient(client.to_owned()))?;
        let (reply, mut rx) = oneshot::channel();
        if host.commands.send(make(reply)).is_err() {
            return Ok(Outcome::Failed("client host is not running".into()));
        }
        let limit = self.sim.elapsed() + self.config.command_timeout;
        loop {
            match rx.try_recv() {
                Ok(Ok(v)) => return Ok(Outcome::Done(v)),
                Ok(Err(e)) => return Ok(Outcome::Failed(e)),
                Err(oneshot::error::TryRecvError::Closed) => return Ok(Outcome::Failed("client host crashed".into())),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            if self.sim.elapsed() >= limit {
                return Ok(Outcome::Pending);
            }
            self.step()?;
        }
    }

    /// Connects `client`; `Done(session_present)` once CONNACK accepted it.
    pub fn connect(&mut self, client: &str, options: ClientOptions) -> Result<Outcome<bool>, WorldError> {
        #[cfg(feature = "mutants")]
        let options = ClientOptions { mutant: self.config.mutant, ..options };
        self.command(client, |reply| Command::Connect { options, checked: true, reply })
    }

    pub fn subscribe(
        &mut self,
        client: &str,
        filters: Vec<SubscribeFilter>,
    ) -> Result<Outcome<Vec<SubackCode>>, WorldError> {
        self.command(client, |reply| Command::Subscribe { filters, properties: Default::default(), reply })
    }

    pub fn unsubscribe(&mut self, client: &str, filters: Vec<String>) -> Result<Outcome<()>, WorldError> {
        self.command(client, |reply| Command::Unsubscribe { filters, reply })
    }

    /// Publishes; `Done` once the QoS flow completed (at once for QoS 0).
    pub fn publish(
        &mut self,
        client: &str,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<Outcome<()>, WorldError> {
        let topic = topic.to_owned();
        self.command(client, |reply| Command::Publish {
            topic,
            payload,
            qos,
            retain,
            properties: Default::default(),
            handed_over: false,
            reply,
        })
    }

    /// Hands a command to `client`'s agent without stepping the simulation; its reply is not
    /// awaited (a host that is down drops it).
    pub fn send(&mut self, client: &str, command: Command) -> Result<(), WorldError> {
        let host = self.clients.get(client).ok_or_else(|| WorldError::UnknownClient(client.to_owned()))?;
        let _ = host.commands.send(command);
        Ok(())
    }

    /// DISCONNECT, then close: no will [MQTT-3.14.4-3].
    pub fn disconnect(&mut self, client: &str) -> Result<Outcome<()>, WorldError> {
        self.command(client, |reply| Command::Disconnect { with: None, reply })
    }

    /// Cuts the link between `client` and the broker, both ways or one. turmoil's TCP never
    /// retransmits: a stream that carried data during the partition stays broken after repair.
    pub fn partition(&mut self, client: &str, direction: Direction) {
        self.note_fault(Fault::Partition { client: client.to_owned(), direction });
        match direction {
            Direction::Both => self.sim.partition(client, BROKER),
            Direction::ToBroker => self.sim.partition_oneway(client, BROKER),
            Direction::FromBroker => self.sim.partition_oneway(BROKER, client),
        }
    }

    /// Repairs a partition between `client` and the broker.
    pub fn repair(&mut self, client: &str) {
        self.note_fault(Fault::Heal { client: client.to_owned() });
        self.sim.repair(client, BROKER);
    }

    /// Holds traffic between `client` and the broker until `release`: delayed, not lost.
    pub fn hold(&mut self, client: &str) {
        self.note_fault(Fault::Hold { client: client.to_owned() });
        self.sim.hold(client, BROKER);
    }

    pub fn release(&mut self, client: &str) {
        self.note_fault(Fault::Release { client: client.to_owned() });
        self.sim.release(client, BROKER);
    }

    /// Sets a fixed latency on the link between `client` and the broker.
    pub fn set_latency(&mut self, client: &str, latency: Duration) {
        self.note_fault(Fault::Latency { client: client.to_owned(), ms: latency.as_millis() as u64 });
        self.sim.set_link_latency(client, BROKER, latency);
    }

    /// Random failures of the link between `client` and the broker: at each tick, with
    /// probability `rate`, the link fails and everything in flight on it is lost (it recovers on
    /// a later tick). turmoil's TCP never retransmits, so one such loss leaves the stream with a
    /// gap: it stalls silently until keep alive notices. `rate` 0 turns it off.
    pub fn set_packet_loss(&mut self, client: &str, rate: f64) {
        self.note_fault(Fault::PacketLoss { client: client.to_owned(), rate });
        self.sim.set_link_fail_rate(client, BROKER, rate);
    }

    /// Crashes the broker: its in-memory state is lost (as mosquitto with `persistence false`).
    pub fn crash_broker(&mut self) -> Result<(), WorldError> {
        self.note_fault(Fault::CrashBroker);
        // The driver drops its connections in id order first: the OS would close a dead
        // process's sockets too, and this keeps the order, and so the trace, reproducible.
        self.stop.notify_waiters();
        let limit = self.sim.elapsed() + Duration::from_secs(1);
        while self.sim.is_host_running(BROKER) && self.sim.elapsed() < limit {
            self.step()?;
        }
        self.sim.crash(BROKER);
        Ok(())
    }

    /// Starts the broker again after a crash, with empty state; does nothing while it runs.
    pub fn restart_broker(&mut self) -> Result<(), WorldError> {
        if !self.sim.is_host_running(BROKER) {
            self.note_fault(Fault::RestartBroker);
            self.sim.bounce(BROKER);
        }
        Ok(())
    }

    /// Crashes a client host: its process and all its state are gone.
    pub fn crash_client(&mut self, client: &str) -> Result<(), WorldError> {
        if !self.clients.contains_key(client) {
            return Err(WorldError::UnknownClient(client.to_owned()));
        }
        self.note_fault(Fault::CrashClient { client: client.to_owned() });
        self.sim.crash(client);
        Ok(())
    }

    /// Starts a crashed client host again, with a fresh process.
    pub fn restart_client(&mut self, client: &str) -> Result<(), WorldError> {
        let host = self.clients.get_mut(client).ok_or_else(|| WorldError::UnknownClient(client.to_owned()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        *host.shared.commands.lock().expect("agent lock") = Some(rx);
        host.commands = tx;
        self.note_fault(Fault::RestartClient { client: client.to_owned() });
        self.sim.bounce(client);
        Ok(())
    }

    /// The broker's state now; `None` if the broker is down.
    pub fn broker_view(&mut self) -> Result<Option<BrokerView>, WorldError> {
        if !self.sim.is_host_running(BROKER) {
            return Ok(None);
        }
        self.monitor.lock().expect("monitor lock").want_view = true;
        self.wake.notify_one();
        let limit = self.sim.elapsed() + Duration::from_secs(1);
        loop {
            if let Some(view) = self.monitor.lock().expect("monitor lock").view.take() {
                return Ok(Some(view));
            }
            if self.sim.elapsed() >= limit {
                return Ok(None);
            }
            self.step()?;
        }
    }
}
