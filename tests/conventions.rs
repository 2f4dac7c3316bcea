//! CLI conventions a newcomer expects: global flags before or after the subcommand, the
//! catalogue from `BERTH_CATALOGUE`, the flag winning over the environment.

use std::process::Command;

fn berth(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.args(args).env_remove("BERTH_CATALOGUE");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn catalogue_flag_goes_before_or_after_the_subcommand_or_in_the_environment() {
    let bad = fixture("bad/tag-latest");
    let after = berth(&["validate", "--catalogue", &bad], &[]);
    assert_eq!(after.0, 1, "{after:?}");
    assert!(after.1.contains("error[E0106]"), "{after:?}");
    let before = berth(&["--catalogue", &bad, "validate"], &[]);
    assert_eq!(before, after);
    let env = berth(&["validate"], &[("BERTH_CATALOGUE", &bad)]);
    assert_eq!(env, after);
    // The flag wins over the environment.
    let demo = fixture("demo");
    let flag = berth(
        &["validate", "--catalogue", &demo],
        &[("BERTH_CATALOGUE", &bad)],
    );
    assert_eq!(flag.0, 0, "{flag:?}");
    // A mistyped path in the environment is refused like a mistyped flag.
    let missing = berth(
        &["validate"],
        &[("BERTH_CATALOGUE", "/nonexistent/catalogue")],
    );
    assert_eq!(missing.0, 2, "{missing:?}");
    assert!(missing.2.contains("not a berth catalogue"), "{missing:?}");
}
