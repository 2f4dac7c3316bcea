//! Test harnesses, one file each; every item is re-exported here, so tests use
//! `support::NAME` (or `use support::*`):
//!
//! | file | harness |
//! |---|---|
//! | `tools.rs` | [`need`] (fail, never skip, on a missing tool), [`free_port`], [`sha256`] |
//! | `http.rs` | a minimal HTTP/1.1 client ([`http`]) and request reader for the test servers |
//! | `registry.rs` | the real `docker-registry` ([`RegistryProc`]), [`Img`], push helpers |
//! | `token.rs` | [`TokenIssuer`] for the registry's token auth |
//! | `proxy.rs` | [`FaultProxy`], a fault-injecting proxy |
//! | `catalogue.rs` | [`Catalogue`] and [`Listing`] builders, the `berth` runner, [`text`] |
//! | `git.rs` | [`git`] with an isolated config, [`clone`], [`copy_dir`], [`demo_copy`] |
//!
//! Every process and thread is owned by a guard and stopped on drop; every test gets its own
//! registry and temp dir, so tests run in parallel. Only loopback addresses are used.
//!
//! New harnesses go in a new file declared with one `pub mod NAME;` line at the end.
#![allow(dead_code)]

mod catalogue;
mod git;
mod http;
mod proxy;
mod registry;
mod token;
mod tools;

// Each test binary uses a different part of the harness.
#[allow(unused_imports)]
pub use self::{catalogue::*, git::*, http::*, proxy::*, registry::*, token::*, tools::*};
pub mod browser;
pub mod cosign;
pub mod github_fake;
pub mod gitrepo;
pub mod integrity;
pub mod memory;
pub mod paging;
pub mod secrets;
pub mod served;
pub mod static_http;
