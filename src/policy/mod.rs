//! Stage: promotion policies compiled for use.
//!
//! - [`compile()`]: a loaded policy → [`CompiledPolicy`] or every diagnostic about it; the only
//!   place policies are checked, used by both `berth validate` and the promotion planner.
//! - [`pattern`]: doublestar source-repository patterns.
//! - [`criteria`]: tag, label and platform conditions.
//! - [`template`]: target tag templates (minijinja, or MSR `%` codes).
//! - [`supply`]: signature, SBOM and vulnerability criteria (evaluated on
//!   `crate::supply::Evidence`).
//!
//! Input: policies from the model. Output: compiled policies and diagnostics; nothing here
//! talks to a registry.

pub mod compile;
pub mod criteria;
pub mod pattern;
pub mod supply;
pub mod template;

pub use compile::{CompiledPolicy, compile};
