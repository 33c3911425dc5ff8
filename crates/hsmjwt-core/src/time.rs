//! `NumericDate` (RFC 7519 section 2) and the clock used by validation.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, as JWT claims carry them.
///
/// Parsing accepts JSON integers and finite non-integral numbers (rounded down, as RFC 7519
/// allows fractions); it never accepts strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NumericDate(i64);

impl NumericDate {
    /// A date from seconds since the epoch.
    pub const fn from_unix(secs: i64) -> Self {
        NumericDate(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_unix(self) -> i64 {
        self.0
    }

    /// The current system time, rounded down to whole seconds.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a `SystemTime`, rounding down; times before the epoch become negative.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => NumericDate(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => NumericDate(-i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// This date plus a duration, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        NumericDate(
            self.0
                .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }

    /// This date minus a duration, saturating.
    pub fn saturating_sub(self, d: Duration) -> Self {
        NumericDate(
            self.0
                .saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        )
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A source of the current time, injectable for tests and for reproducible validation.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> NumericDate;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NumericDate {
        NumericDate::now()
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub NumericDate);

impl Clock for FixedClock {
    fn now(&self) -> NumericDate {
        self.0
    }
}
