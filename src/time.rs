//! Time as the sans-IO core sees it: a point on a monotonic clock, counted from an epoch the
//! driver chooses (its start). The core never reads a clock; drivers pass `now` in, so the same
//! state machines run on tokio's real clock, turmoil's simulated one, and a test's hand-set one.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, as a duration since the driver's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(Duration);

impl Time {
    /// The driver's epoch.
    pub const ZERO: Time = Time(Duration::ZERO);

    pub const fn from_duration(since_epoch: Duration) -> Time {
        Time(since_epoch)
    }

    pub const fn from_millis(ms: u64) -> Time {
        Time(Duration::from_millis(ms))
    }

    pub const fn from_secs(s: u64) -> Time {
        Time(Duration::from_secs(s))
    }

    /// Time since the driver's epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0 + d)
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for Time {
    /// Seconds with millisecond precision, e.g. `12.345s`: stable text for traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0.as_secs(), self.0.subsec_millis())
    }
}
