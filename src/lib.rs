//! berth: a GitOps reconciler for a container-image catalogue.
//!
//! The folders read as the pipeline, top to bottom; a module imports only modules below it
//! (`tests/layers.rs` fails on an upward import or a cycle):
//!
//! | layer | modules | does |
//! |---|---|---|
//! | command | [`cli`] | parses arguments, calls a pipeline, renders, maps to an exit code |
//! | report | [`report`] | renders pipeline results as text, markdown, JSON; JSON Schemas |
//! | pipeline | [`pipeline`] | composes the stages: validate, plan, apply, manual promotion |
//! | stages | [`verify`], [`promote`] | registry verification; promotion planning and copying |
//! | | [`lifecycle`] | versions, statuses, channels, resolution of selectors |
//! | | [`catalogue`] | loads and checks the catalogue files; edits listings in place; init |
//! | | [`policy`] | compiles promotion policies: patterns, criteria, tag templates |
//! | | [`supply`] | artefacts attached to a digest: referrers, signatures, SBOMs, scan reports |
//! | | [`registry`], [`index`], [`gitops`] | OCI distribution client; index.json; git |
//! | model | [`model`] | typed files, spans, diagnostics, image references, time |
//!
//! `main.rs` only sets up logging and calls [`cli::run`].

pub mod catalogue;
pub mod cli;
pub mod gitops;
pub mod index;
pub mod lifecycle;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod promote;
pub mod registry;
pub mod report;
pub mod supply;
pub mod verify;
