//! `berth schema`: the JSON Schemas of the files (from `crate::model::schema`) and of the plan
//! report (`berth plan --format json`, [`crate::report::plan::PlanJson`]).
//!
//! Output is canonical (keys sorted, pretty, trailing newline); the checked-in copies in
//! `schema/` are compared byte for byte by `tests/schema.rs`.

use std::path::Path;

use serde_json::Value;

use crate::model::schema::{FileKind, canonical, generate};

/// What `berth schema` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaKind {
    #[default]
    Listing,
    Policy,
    Config,
    Index,
    /// Output of `berth plan --format json`.
    Plan,
}

/// Every schema kind, in the order they are written.
pub const ALL: [SchemaKind; 5] = [
    SchemaKind::Listing,
    SchemaKind::Policy,
    SchemaKind::Config,
    SchemaKind::Index,
    SchemaKind::Plan,
];

fn file_kind(kind: SchemaKind) -> Option<FileKind> {
    match kind {
        SchemaKind::Listing => Some(FileKind::Listing),
        SchemaKind::Policy => Some(FileKind::Policy),
        SchemaKind::Config => Some(FileKind::Config),
        SchemaKind::Index => Some(FileKind::Index),
        SchemaKind::Plan => None,
    }
}

/// File name of a schema inside `schema/`.
pub fn file_name(kind: SchemaKind) -> &'static str {
    match file_kind(kind) {
        Some(k) => crate::model::schema::file_name(k),
        None => "plan.schema.json",
    }
}

/// The schema of `kind` as a canonical JSON value.
pub fn schema_value(kind: SchemaKind) -> Value {
    if let Some(k) = file_kind(kind) {
        return crate::model::schema::schema_value(k);
    }
    let mut value = generate::<crate::report::plan::PlanJson<'static>>(true).to_value();
    if let Value::Object(obj) = &mut value {
        obj.insert("title".into(), Value::String("berth plan".into()));
        obj.insert(
            "description".into(),
            Value::String(
                "The output of `berth plan --format json` (and the `plan-json` output of the GitHub \
                 Action): planned changes, verification results, diagnostics, promotions and the \
                 index diff. `planVersion` changes only with incompatible changes to this shape."
                    .into(),
            ),
        );
        obj.remove("$id");
    }
    canonical(value)
}

/// Canonical pretty JSON of the schema of `kind`, with a trailing newline.
pub fn schema_json(kind: SchemaKind) -> String {
    crate::model::schema::pretty(&schema_value(kind))
}

/// Create `dir` (and parents) and write every schema into it.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    crate::model::schema::write_into(dir, ALL.map(|kind| (file_name(kind), schema_json(kind))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_stable_and_titled() {
        for kind in ALL {
            let a = schema_json(kind);
            assert_eq!(a, schema_json(kind), "{kind:?} schema is not deterministic");
            let v: Value = serde_json::from_str(&a).unwrap();
            assert!(v["title"].as_str().unwrap().starts_with("berth "));
            assert!(v.get("$id").is_none());
        }
    }
}
