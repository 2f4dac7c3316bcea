//! A loaded catalogue: every file read from a catalogue directory, typed.
//!
//! Produced by `catalogue::load`; read by every stage below the pipeline (lifecycle, policy,
//! promote, verify), which is why it lives in the model and not with the loader.

use std::path::PathBuf;

use crate::model::{Config, Listing, Policy};

/// A parsed file with its path relative to the catalogue root.
#[derive(Clone, Debug)]
pub struct Source<T> {
    pub path: PathBuf,
    pub value: T,
}

/// Everything read from a catalogue directory.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub root: PathBuf,
    pub config: Config,
    /// `Some` when `berth.yaml` exists.
    pub config_path: Option<PathBuf>,
    pub listings: Vec<Source<Listing>>,
    pub policies: Vec<Source<Policy>>,
}

impl Catalogue {
    /// Index path from `berth.yaml` (or `index.json`), relative to the root.
    pub fn index_path(&self) -> PathBuf {
        self.root.join(
            self.config
                .index
                .as_ref()
                .map(|s| s.value.as_str())
                .unwrap_or("index.json"),
        )
    }
}

pub const CONFIG_FILE: &str = "berth.yaml";
