//! Pipelines: the stages composed into what a command does.
//!
//! - [`validate`]: load → static checks → an offline run of the lifecycle engine.
//! - [`plan`]: load → checks → lifecycle → verify → lifecycle again → promotion planning;
//!   produces [`plan::Computed`], never writes.
//! - [`apply`]: plan → promotions → atomic index write → commit → push with retry.
//! - [`promote`]: a manual promotion recorded in the index.
//! - [`integrity`]: the index a run starts from is the one berth wrote; the apply lock.
//! - [`resolve`]: a selector resolved against the recorded index.
//!
//! Input: options in the library's own types (never CLI types). Output: typed results; the
//! command layer renders them (`crate::report`) and maps them to exit codes.

pub mod apply;
pub mod integrity;
pub mod plan;
pub mod promote;
pub mod resolve;
pub mod validate;
