//! `berth schema [KIND] [--out-dir DIR]`: print one JSON Schema or write them all.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::EXIT_OK;
use crate::report::schema::{ALL, file_name, schema_json, write_all};

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write all schemas into this directory instead of printing one.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Which schema to print.
    #[arg(value_enum, default_value_t)]
    pub which: SchemaKind,
}

/// `berth schema KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SchemaKind {
    #[default]
    Listing,
    Policy,
    Config,
    Index,
    /// Output of `berth plan --format json`.
    Plan,
}

impl From<SchemaKind> for crate::report::schema::SchemaKind {
    fn from(k: SchemaKind) -> Self {
        use crate::report::schema::SchemaKind as K;
        match k {
            SchemaKind::Listing => K::Listing,
            SchemaKind::Policy => K::Policy,
            SchemaKind::Config => K::Config,
            SchemaKind::Index => K::Index,
            SchemaKind::Plan => K::Plan,
        }
    }
}

/// `berth schema [KIND] [--out-dir DIR]`.
pub fn run(args: &SchemaArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    match &args.out_dir {
        Some(dir) => {
            write_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot write schemas to {}: {e}", dir.display()))?;
            for kind in ALL {
                writeln!(out, "{}", dir.join(file_name(kind)).display())?;
            }
        }
        None => out.write_all(schema_json(args.which.into()).as_bytes())?,
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("nested/schema");
        let args = SchemaArgs {
            out_dir: Some(target.clone()),
            which: SchemaKind::Listing,
        };
        let mut out = Vec::new();
        assert_eq!(run(&args, &mut out).unwrap(), EXIT_OK);
        let printed = String::from_utf8(out).unwrap();
        for kind in ALL {
            let path = target.join(file_name(kind));
            assert_eq!(std::fs::read_to_string(&path).unwrap(), schema_json(kind));
            assert!(printed.contains(&path.display().to_string()));
        }
    }

    #[test]
    fn run_prints_the_chosen_schema() {
        let args = SchemaArgs {
            out_dir: None,
            which: SchemaKind::Policy,
        };
        let mut out = Vec::new();
        assert_eq!(run(&args, &mut out).unwrap(), EXIT_OK);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            schema_json(crate::report::schema::SchemaKind::Policy)
        );
    }
}
