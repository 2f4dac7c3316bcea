//! `berth validate`: everything `apply` would refuse, without contacting a registry or
//! writing: load, static checks, and an offline run of the lifecycle engine (declared
//! versions, transitions, marks for unknown versions).
//!
//! Input: catalogue directory and optional index path. Output: sorted diagnostics.

use std::path::PathBuf;

use crate::model::diag::Diagnostic;
use crate::pipeline::plan::{Computed, Options, compute};

/// Validate the catalogue at `catalogue` (with the index at `index`, default from berth.yaml).
pub fn validate(catalogue: PathBuf, index: Option<PathBuf>) -> anyhow::Result<Vec<Diagnostic>> {
    Ok(run(catalogue, index)?.diagnostics)
}

/// [`validate`], keeping the whole computation (its `diagnostics` are the findings): the
/// command decides when to let go of a large catalogue.
pub fn run(catalogue: PathBuf, index: Option<PathBuf>) -> anyhow::Result<Computed> {
    let opts = Options {
        catalogue,
        index,
        offline: true,
        check_drift: false,
        level: crate::verify::Level::default(),
        base_rev: None,
        progress: Default::default(),
    };
    compute(&opts)
}
