//! berth: a GitOps reconciler for a container-image catalogue.
//!
//! Stages, each a module with typed hand-offs:
//! load → validate → plan (lifecycle) → verify → promote → index → commit.
//! `main.rs` only parses the command line and maps results to exit codes.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod git;
pub mod init;
pub mod load;
pub mod mark;
pub mod model;
pub mod plan;
pub mod reference;
pub mod resolve;
pub mod schema;
pub mod span;
pub mod validate;
