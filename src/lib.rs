//! berth: a GitOps reconciler for a container-image catalogue.
//!
//! Stages, each a module with typed hand-offs:
//! load → validate → plan (lifecycle) → verify → promote → index → commit (git).
//! `main.rs` only parses the command line and maps results to exit codes.

pub mod apply;
pub mod channels;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod diag;
pub mod git;
pub mod index;
pub mod init;
pub mod lifecycle;
pub mod load;
pub mod mark;
pub mod model;
pub mod plan;
pub mod promote;
pub mod reference;
pub mod registry;
pub mod resolve;
pub mod schema;
pub mod span;
pub mod validate;
pub mod verify;
pub mod version;
