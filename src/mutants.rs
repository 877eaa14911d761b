//! Known bugs, compiled in only with the `mutants` feature, to prove that exploration and the
//! invariants catch real mistakes. Without the feature none of this code exists.
//!
//! A mutant is an input like any other: the broker runs the one named in its
//! `Config::mutant`, the client the one in its `ClientOptions::mutant`. There is no global
//! switch, so runs with different mutants can share a process.

/// A known bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutant {
    /// The broker drops an offline session's QoS 1 message although its queue has room.
    DropOfflineQos1,
    /// The client forgets which QoS 2 ids await PUBREL when it resumes a session, so a re-sent
    /// QoS 2 PUBLISH reaches the application twice.
    ForgetPubrelState,
    /// The broker re-sends unacknowledged messages newest first on reconnect.
    ResendOutOfOrder,
    /// The broker treats a clean session 1 CONNECT as a resume of the stored session.
    CleanSessionResumes,
    /// The broker delivers overlapping subscriptions at the lowest granted QoS.
    OverlapLowerQos,
    /// The broker re-sends unacknowledged PUBLISH packets on reconnect with DUP=0.
    ResendWithoutDup,
    /// The broker sends retained messages for a new subscription with RETAIN=0.
    RetainedWithoutRetainFlag,
    /// On reconnect the broker re-sends a QoS 2 delivery whose PUBREC it already had as PUBLISH
    /// (DUP=1) instead of PUBREL.
    ResendPublishAfterPubrec,
    /// On reconnect the broker re-sends unacknowledged PUBLISH packets (DUP=1) under new packet
    /// ids instead of the ones they were first sent with [MQTT-4.4.0-1] (a bug a real broker
    /// shipped). Scripted: see `Mutant::SCRIPTED`.
    ResendUnderFreshIds,
    /// The broker closes the connection when a publisher sends a QoS 2 PUBLISH again (DUP=1)
    /// before releasing it, where it must answer PUBREC again [MQTT-4.3.3-2] (a bug that made a
    /// real broker drop its clients). Scripted: see `Mutant::SCRIPTED`.
    DropOnDupBeforePubrel,
    /// The broker fills a 5.0 client's outgoing window up to its own `max_inflight_messages`,
    /// past the Receive Maximum the client announced [MQTT5-3.3.4-9].
    IgnoreReceiveMaximum,
    /// The broker forwards a queued message whose Message Expiry Interval has passed, where it
    /// must delete it [MQTT5-3.3.2-5].
    DeliverExpired,
    /// The broker gives a shared subscription's message to every member of the group, where
    /// each message goes to one of its sessions (section 4.8.2).
    SharedToAll,
    /// In durable mode (`persistence_sync true`) the driver sends the acknowledgements of a
    /// turn before the log commit they depend on is synced: a crash in between loses an
    /// acknowledged message.
    AckBeforeSync,
    /// Recovery in durable mode leaves out the log's last commit.
    RecoverWithoutLastRecord,
}

/// `a` then `b`, as one array (for `Mutant::ALL`); `C` is `A + B`.
const fn concat<const A: usize, const B: usize, const C: usize>(a: [Mutant; A], b: [Mutant; B]) -> [Mutant; C] {
    assert!(A + B == C, "the lengths add up");
    let mut out = [a[0]; C];
    let mut i = 0;
    while i < C {
        out[i] = if i < A { a[i] } else { b[i - A] };
        i += 1;
    }
    out
}

impl Mutant {
    pub const ALL: [Mutant; 15] =
        concat::<13, 2, 15>(concat::<11, 2, 13>(Mutant::EXPLORED, Mutant::SCRIPTED), Mutant::DURABLE);

    /// The bugs `mqtt-sim explore` must find by itself (tests/mutants.rs): its generated
    /// clients are conforming library clients.
    pub const EXPLORED: [Mutant; 11] = [
        Mutant::DropOfflineQos1,
        Mutant::ForgetPubrelState,
        Mutant::ResendOutOfOrder,
        Mutant::CleanSessionResumes,
        Mutant::OverlapLowerQos,
        Mutant::ResendWithoutDup,
        Mutant::RetainedWithoutRetainFlag,
        Mutant::ResendPublishAfterPubrec,
        Mutant::IgnoreReceiveMaximum,
        Mutant::DeliverExpired,
        Mutant::SharedToAll,
    ];

    /// The bugs only a scripted client provokes or observes (packets sent by hand, ids bound
    /// across connections): scenarios in scenarios/scripted/ catch them, in the simulation and
    /// over TCP (tests/scripted_mutants.rs).
    pub const SCRIPTED: [Mutant; 2] = [Mutant::ResendUnderFreshIds, Mutant::DropOnDupBeforePubrel];

    /// The bugs of the durable mode's persistence, which the durability scenarios catch
    /// (tests/durability_mutants.rs).
    pub const DURABLE: [Mutant; 2] = [Mutant::AckBeforeSync, Mutant::RecoverWithoutLastRecord];

    pub fn name(self) -> &'static str {
        match self {
            Mutant::DropOfflineQos1 => "drop-offline-qos1",
            Mutant::ForgetPubrelState => "forget-pubrel-state",
            Mutant::ResendOutOfOrder => "resend-out-of-order",
            Mutant::CleanSessionResumes => "clean-session-resumes",
            Mutant::OverlapLowerQos => "overlap-lower-qos",
            Mutant::ResendWithoutDup => "resend-without-dup",
            Mutant::RetainedWithoutRetainFlag => "retained-without-retain-flag",
            Mutant::ResendPublishAfterPubrec => "resend-publish-after-pubrec",
            Mutant::ResendUnderFreshIds => "resend-under-fresh-ids",
            Mutant::DropOnDupBeforePubrel => "drop-on-dup-before-pubrel",
            Mutant::IgnoreReceiveMaximum => "ignore-receive-maximum",
            Mutant::DeliverExpired => "deliver-expired",
            Mutant::SharedToAll => "shared-to-all",
            Mutant::AckBeforeSync => "ack-before-sync",
            Mutant::RecoverWithoutLastRecord => "recover-without-last-record",
        }
    }

    /// Whether only 5.0 clients can meet the bug, so exploration needs them (`explore
    /// --protocol mixed` or `5`) to find it.
    pub const fn needs_v5(self) -> bool {
        matches!(self, Mutant::IgnoreReceiveMaximum | Mutant::DeliverExpired | Mutant::SharedToAll)
    }

    pub fn by_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == name)
    }
}
