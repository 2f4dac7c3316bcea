//! Stage: promotion policies compiled for use.
//!
//! - [`pattern`]: doublestar source-repository patterns.
//! - [`criteria`]: tag, label and platform conditions.
//! - [`template`]: target tag templates (minijinja, or MSR `%` codes).
//! - [`check`]: diagnostics for policies whose template cannot be used.
//!
//! Input: policies from the model. Output: matchers, renderers and diagnostics; nothing here
//! talks to a registry.

pub mod check;
pub mod criteria;
pub mod pattern;
pub mod template;
