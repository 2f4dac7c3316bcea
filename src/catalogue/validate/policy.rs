//! Checks of the promotion policies (`policies/**/*.yaml`) — thin on purpose.
//!
//! Input: the loaded policies and the catalogue (for the credentials of berth.yaml). Output:
//! diagnostics pushed into the caller's collector: everything [`crate::policy::compile()`]
//! finds in each file (the one place policy rules live, shared with the promotion planner),
//! plus the rules that need more than one file: credentials defined in berth.yaml (E0110)
//! and policy names unique case-insensitively (E0202, reported at the second occurrence,
//! naming the first).

use std::collections::HashMap;

use crate::catalogue::load::Catalogue;
use crate::catalogue::validate::{Seen, at, check_credential, earlier};
use crate::model::diag::{Code, Diagnostic, Diagnostics};

pub(super) fn check_policies(cat: &Catalogue, d: &mut Diagnostics) {
    let mut names: HashMap<String, Seen<'_>> = HashMap::new();
    for src in &cat.policies {
        let file = src.path.as_path();
        let p = &src.value;
        if let Err(found) = crate::policy::compile(&cat.root, src) {
            d.extend(found);
        }
        check_credential(cat, p.source.credential.as_ref(), file, d);
        check_credential(cat, p.target.credential.as_ref(), file, d);
        let key = p.name.value.to_lowercase();
        if let Some(first) = earlier(
            &mut names,
            key,
            Seen {
                file,
                pos: p.name.pos,
            },
        ) {
            d.push(
                Diagnostic::error(
                    Code::DuplicatePolicyName,
                    file,
                    p.name.pos,
                    format!(
                        "policy name `{}` is already used by {} (compared case-insensitively)",
                        p.name.value,
                        at(first.pos, first.file)
                    ),
                )
                .with_hint("promotions are recorded by policy name; give each policy its own"),
            );
        }
    }
}
