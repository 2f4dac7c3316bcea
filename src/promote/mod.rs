//! Stage: promote — promotion policies (dev → qa when criteria hold) and manual promotion.
//!
//! Submodules: [`pattern`] (source repository globs), [`criteria`] (tag/label/platform
//! conditions), [`template`] (target tag templates), [`check`] (policy diagnostics).

pub mod check;
pub mod criteria;
pub mod pattern;
pub mod template;

pub use check::check_policies;
pub mod engine;
#[cfg(test)]
pub mod fake;
pub mod oci;
pub mod planner;
