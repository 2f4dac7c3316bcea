//! Progress of long stages (verifying, planning promotions, copying), reported to whoever
//! runs them.
//!
//! Stages call a [`Progress`]; the command layer decides how it shows (a bar on a terminal,
//! a line every few seconds in CI logs, nothing in tests). Progress goes to stderr only:
//! nothing on stdout reports it, so reports stay byte-stable. Invariant: `advance` is called
//! once per finished item, from any thread.

use std::fmt;
use std::sync::Arc;

/// An observer of one stage's progress.
pub trait Progress: Send + Sync {
    /// A stage starts: `what` (e.g. "verifying") over `total` items.
    fn start(&self, what: &str, total: u64);
    /// `n` more items are done; `retries` is the stage's retry count so far.
    fn advance(&self, n: u64, retries: u64);
    /// The stage ended.
    fn finish(&self);
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// A shareable progress observer for option structs (Clone, Debug, Default = silent).
#[derive(Clone)]
pub struct Handle(pub Arc<dyn Progress>);

impl Default for Handle {
    fn default() -> Self {
        Handle(Arc::new(Silent))
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("progress::Handle")
    }
}

impl std::ops::Deref for Handle {
    type Target = dyn Progress;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
