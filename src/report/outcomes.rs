//! JSON reports of the commands that change one thing: `berth mark` and `berth promote`.
//!
//! Input: what the command did. Output: one canonical JSON object (keys sorted, pretty,
//! trailing newline) with `version` — the version of this report shape, raised only on an
//! incompatible change — so scripts never parse the human sentences.

use serde_json::{Value, json};

use crate::catalogue::mark::Outcome;
use crate::model::QaStatus;
use crate::pipeline::promote::Recorded;
use crate::promote::Action;

/// The version of the JSON shapes of `mark`, `promote` and `validate`.
pub const REPORT_VERSION: u32 = 1;

fn text(v: Value) -> String {
    let mut s = crate::index::canonical_string(&v);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// `berth mark --format json`.
pub fn mark(o: &Outcome) -> String {
    let qa = o.mark.qa.map(|q| match q {
        QaStatus::Failed => "failed",
        QaStatus::Passed => "passed",
    });
    text(json!({
        "version": REPORT_VERSION,
        "code": o.code,
        "target": format!("{}@{}", o.code, o.version),
        "file": crate::model::diag::display_path(&o.path),
        "changed": o.changed,
        "marks": {
            "qa": qa,
            "reason": o.mark.reason,
            "delisted": o.mark.delisted,
        },
    }))
}

/// `berth promote --format json`.
pub fn promote(r: &Recorded) -> String {
    let s = &r.manual.stats;
    let action = match r.manual.action {
        Action::Copy => "copy",
        Action::Overwrite => "overwrite",
        Action::Present => "present",
    };
    text(json!({
        "version": REPORT_VERSION,
        "source": r.manual.record.source,
        "sourceDigest": r.manual.record.source_digest,
        "target": r.manual.record.target,
        "action": action,
        "promotedAt": r.manual.record.promoted_at,
        "index": crate::model::diag::display_path(&r.index_path),
        "copy": {
            "manifestsPushed": s.manifests_pushed,
            "blobsMounted": s.blobs_mounted,
            "blobsCopied": s.blobs_copied,
            "blobsPresent": s.blobs_present,
            "bytesCopied": s.bytes_copied,
        },
    }))
}
