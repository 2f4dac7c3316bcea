//! Stage: apply — compute the plan, then write the index atomically.
//!
//! Input: catalogue and options. Output: the new `index.json` (or `--out`), and the plan
//! report on stdout. Invariants: nothing is written when the catalogue has errors; the
//! write is atomic and skipped when the bytes are unchanged (a no-op run is byte-identical).

use std::io::Write;

use crate::cli::{ApplyArgs, EXIT_FINDINGS, EXIT_OK};
use crate::plan::{Options, compute, render};

/// `berth apply`.
pub fn run(args: &ApplyArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    if args.offline && !args.skip_verify {
        anyhow::bail!(
            "--offline needs --skip-verify: apply records verification, and offline it can only record it as skipped"
        );
    }
    if args.commit || args.push {
        anyhow::bail!(
            "--commit/--push need the git integration, which is not available in this build yet"
        );
    }
    let opts = Options {
        catalogue: args.cat.catalogue.clone(),
        index: args.index.index.clone(),
        offline: args.offline || args.skip_verify,
        level: args.verify,
        check_drift: args.check_drift,
        base_index: None,
    };
    let mut c = compute(&opts)?;
    if !c.has_errors() {
        crate::promote::execute_planned(&mut c);
    }
    out.write_all(render(&c, args.format, opts.offline).as_bytes())?;
    if c.has_errors() {
        writeln!(out, "Nothing written: fix the errors above first.")?;
        return Ok(EXIT_FINDINGS);
    }
    let target = args.out.clone().unwrap_or_else(|| c.index_path.clone());
    let wrote = crate::index::write_atomic(&target, &c.next_text)?;
    if wrote {
        writeln!(out, "Wrote {}.", target.display())?;
    } else {
        writeln!(out, "{} unchanged.", target.display())?;
    }
    if c.promotions.has_problems() {
        return Ok(EXIT_FINDINGS);
    }
    Ok(EXIT_OK)
}
