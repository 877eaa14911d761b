//! Known bugs, compiled in only with the `mutants` feature, to prove that exploration and the
//! invariants catch real mistakes. One mutant is active at a time, chosen by name; without the
//! feature none of this code exists.

use std::sync::atomic::{AtomicU8, Ordering};

/// A known bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutant {
    /// The broker drops an offline session's QoS 1 message although its queue has room.
    DropOfflineQos1 = 1,
    /// The client forgets which QoS 2 ids await PUBREL when it resumes a session, so a re-sent
    /// QoS 2 PUBLISH reaches the application twice.
    ForgetPubrelState = 2,
    /// The broker re-sends unacknowledged messages newest first on reconnect.
    ResendOutOfOrder = 3,
    /// The broker treats a clean session 1 CONNECT as a resume of the stored session.
    CleanSessionResumes = 4,
    /// The broker delivers overlapping subscriptions at the lowest granted QoS.
    OverlapLowerQos = 5,
    /// The broker re-sends unacknowledged PUBLISH packets on reconnect with DUP=0.
    ResendWithoutDup = 6,
    /// The broker sends retained messages for a new subscription with RETAIN=0.
    RetainedWithoutRetainFlag = 7,
}

impl Mutant {
    pub const ALL: [Mutant; 7] = [
        Mutant::DropOfflineQos1,
        Mutant::ForgetPubrelState,
        Mutant::ResendOutOfOrder,
        Mutant::CleanSessionResumes,
        Mutant::OverlapLowerQos,
        Mutant::ResendWithoutDup,
        Mutant::RetainedWithoutRetainFlag,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mutant::DropOfflineQos1 => "drop-offline-qos1",
            Mutant::ForgetPubrelState => "forget-pubrel-state",
            Mutant::ResendOutOfOrder => "resend-out-of-order",
            Mutant::CleanSessionResumes => "clean-session-resumes",
            Mutant::OverlapLowerQos => "overlap-lower-qos",
            Mutant::ResendWithoutDup => "resend-without-dup",
            Mutant::RetainedWithoutRetainFlag => "retained-without-retain-flag",
        }
    }

    pub fn by_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.into_iter().find(|m| m.name() == name)
    }
}

static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Activates one mutant (or none) for everything that runs in this process from now on.
pub fn set(mutant: Option<Mutant>) {
    ACTIVE.store(mutant.map_or(0, |m| m as u8), Ordering::SeqCst);
}

/// Whether `mutant` is the active one.
pub fn active(mutant: Mutant) -> bool {
    ACTIVE.load(Ordering::SeqCst) == mutant as u8
}
