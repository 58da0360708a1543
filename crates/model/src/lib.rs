//! Identifiers, timestamps and the seams (clock, randomness) shared by every sealtrail crate.
//!
//! Every type here is *parse, don't validate*: a value that exists is well formed. The crate
//! does no I/O, reads no clock and draws no randomness: the [`Clock`] and [`Rng`] traits are
//! how callers pass those in, so that every pure function above this crate is deterministic
//! under test.
//!
//! It does not know about HTTP, AWS wire formats or storage.

mod arn;
mod error;
mod event;
mod ids;
mod seams;
mod time;

pub use arn::{Arn, TrailArn};
pub use error::ModelError;
pub use event::{EventRecord, LogFileBody, UserIdentity};
pub use ids::{AccountId, OrganizationId, Region, TrailName};
pub use seams::{Clock, FixedClock, Rng, SeededRng, SystemClock};
pub use time::UtcTime;
