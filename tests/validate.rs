//! `berth validate` end to end.
//!
//! - CLI snapshots (trycmd): one case per catalogue in `fixtures/bad/` (plus the clean demo),
//!   in `tests/cmd/validate/*.toml`, each with its exact stdout (file:line:col, code, hint) and
//!   exit status. Regenerate with `TRYCMD=overwrite cargo test --test validate`, then review.
//! - Hostile inputs through the library: a file over the 1 MiB limit (generated here, not
//!   committed) and the alias bomb fixture, both refused with their codes and quickly.
//! - Every rule code is exercised by some fixture, so a rule cannot silently disappear.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth::cli::ci::ReportFormat;
use berth::cli::{CatalogueArgs, IndexArgs, ValidateArgs};

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new().case("tests/cmd/validate/*.toml");
}

/// Run `berth validate --format json` on `dir` through the library.
fn validate_json(dir: &Path) -> (u8, serde_json::Value) {
    let args = ValidateArgs {
        index: IndexArgs { index: None },
        format: ReportFormat::Json,
    };
    let cat = CatalogueArgs {
        catalogue: dir.to_path_buf(),
    };
    let mut out = Vec::new();
    let code = berth::cli::validate::run(&args, &cat, &berth::cli::Ui::default(), &mut out)
        .expect("validate runs");
    let json = serde_json::from_slice(&out).expect("validate prints JSON");
    (code, json)
}

fn codes_of(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().expect("code").to_string())
        .collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bad")
        .join(name)
}

#[test]
fn file_over_one_mebibyte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    // A valid listing padded with a comment: only its size is wrong.
    let mut text = String::from(
        "code: big\nname: Big\nsummary: s\npublisher: p\nimage:\n  repository: acme/big\n  tag: \"1.0\"\nrelease:\n  type: new\n  stage: testing\n",
    );
    let line = format!("# {}\n", "x".repeat(1022));
    while text.len() <= 1024 * 1024 {
        text.push_str(&line);
    }
    std::fs::write(dir.path().join("images/big.yaml"), &text).unwrap();
    let (code, report) = validate_json(dir.path());
    assert_eq!(code, 1);
    assert_eq!(codes_of(&report), vec!["E0003"]);
    assert_eq!(report["diagnostics"][0]["file"], "images/big.yaml");
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let start = Instant::now();
    let (code, report) = validate_json(&fixture("alias-bomb"));
    let took = start.elapsed();
    assert_eq!(code, 1);
    assert_eq!(codes_of(&report), vec!["E0004"]);
    // Expanded, the bomb is 9^8 replays; refusing it must not cost anywhere near that.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn several_files_all_reported_at_once() {
    let (code, report) = validate_json(&fixture("many-problems"));
    assert_eq!(code, 1);
    let files: std::collections::BTreeSet<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        vec![
            "berth.yaml",
            "images/ci-base.yaml",
            "images/node.yaml",
            "images/oops.yaml",
            "policies/promote.yaml"
        ]
    );
    assert_eq!(
        report["errors"].as_u64().unwrap() as usize,
        codes_of(&report).len()
    );
}

/// An unknown field is reported (with a "did you mean" hint when a field is close) and hides
/// nothing: the other problems of its file, nested unknown fields, and the cross-file
/// duplicate name are all reported in the same run.
#[test]
fn unknown_fields_hide_no_other_problem() {
    let (code, report) = validate_json(&fixture("unknown-field-plus-errors"));
    assert_eq!(code, 1);
    let found: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}:{}:{} {}", d["file"], d["line"], d["column"], d["code"]))
        .map(|s| s.replace('"', ""))
        .collect();
    assert_eq!(
        found,
        vec![
            "berth.yaml:3:1 E0005",
            "berth.yaml:6:3 E0301",
            "images/web.yaml:3:7 E0105",
            "images/web.yaml:6:1 E0005",
            "images/web.yaml:9:8 E0106",
            "images/web.yaml:10:15 E0110",
            "images/web.yaml:15:18 E0119",
            "images/web.yaml:15:26 E0005",
            "policies/promote.yaml:5:10 E0208",
            "policies/promote.yaml:5:12 E0005",
            "policies/promote.yaml:10:1 E0005",
        ]
    );
    let hints: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E0005")
        .map(|d| d["hint"].as_str().unwrap())
        .collect();
    for (hint, field) in
        hints
            .iter()
            .zip(["registries", "labels", "reason", "endsWith", "overwrite"])
    {
        assert!(
            hint.starts_with(&format!("did you mean `{field}`?")),
            "{field}: {hint}"
        );
    }
}

#[test]
fn demo_is_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let (code, report) = validate_json(&dir);
    assert_eq!(code, 0, "{report:#}");
    // No berth commit ever wrote the fixture's index: checked for content only, and said so.
    assert_eq!(codes_of(&report), vec!["E0503".to_string()]);
}

/// Every diagnostic code validation can emit appears in at least one bad fixture.
#[test]
fn fixtures_cover_every_rule() {
    let mut seen = std::collections::BTreeSet::new();
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad")).unwrap()
    {
        let dir = entry.unwrap().path();
        let (code, report) = validate_json(&dir);
        assert_eq!(code, 1, "{} should fail validation", dir.display());
        seen.extend(codes_of(&report));
    }
    let expected = [
        "E0002", "E0004", "E0005", "E0006", "E0007", "E0008", "E0101", "E0102", "E0103", "E0104",
        "E0105", "E0106", "E0107", "E0108", "E0109", "E0110", "E0111", "E0112", "E0113", "E0115",
        "E0116", "E0119", "E0120", "E0121", "E0122", "E0201", "E0202", "E0203", "E0204", "E0206",
        "E0207", "E0208", "E0301", "E0302", "E0303", "E0501",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no fixture produces {missing:?}");
}

/// A tag template rendered for one fixed image, promoted on Wednesday 2026-03-04 at
/// 15:06:07.0035 UTC.
fn render_tag(template: &str, tag: &str) -> Result<String, String> {
    use berth::policy::template::{TagTemplate, TemplateInput};
    let t = TagTemplate::parse(template).map_err(|e| format!("parse: {e}"))?;
    t.render(&TemplateInput {
        tag,
        repository: "dev/app",
        digest: "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
        labels: &Default::default(),
        created: None,
        promoted_at: chrono::DateTime::parse_from_rfc3339("2026-03-04T15:06:07.003500Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    })
    .map_err(|e| e.to_string())
}

/// Holds README "Promotion policies": the MSR codes `%U %w %u %s` are accepted and render as
/// strftime does (week of the year from Sunday, weekday from Sunday = 0 and from Monday = 1,
/// seconds since the epoch). (Killed mutants: the match arm of each code deleted, which made
/// it an unknown code.)
#[test]
fn msr_codes_render_as_the_readme_lists() {
    assert_eq!(render_tag("%U-%w-%u", "1").as_deref(), Ok("09-3-3"));
    assert_eq!(render_tag("%s", "1").as_deref(), Ok("1772636767"));
}

/// A code whose output can never be part of an OCI tag is refused when the policy is checked
/// (E0205), like `%c` and `%X`, instead of failing every promotion: `%z` renders `+0000`, and
/// `+` is not a tag character.
#[test]
fn msr_code_z_is_refused_because_a_tag_cannot_hold_plus() {
    assert_eq!(
        render_tag("%n-%z", "1"),
        Err("parse: unknown template code '%z' (known: %n and strftime codes %Y %m %d %H %M %S %f %A %a %B %b %j %W %U %w %u %p %I %y %Z %s, %% for '%')".to_string())
    );
}

/// `version` of a semver source tag has `.major/.minor/.patch` and also `.pre` and `.build`
/// (always empty: an OCI tag cannot hold `+`, so no source tag has build metadata), all
/// defined under strict undefined. (Killed mutant: the `build` attribute deleted, which made
/// `{{ version.build }}` an undefined-value error.)
#[test]
fn version_parts_of_a_semver_tag() {
    assert_eq!(
        render_tag(
            "{{ version.major }}.{{ version.minor }}.{{ version.patch }}-{{ version.pre }}{{ version.build }}",
            "1.2.3-rc.1"
        )
        .as_deref(),
        Ok("1.2.3-rc.1")
    );
}

/// Holds E0205's wording for jinja templates: an unknown method is named as such (found by
/// the check render), not as a generic error. (Killed mutant: the `UnknownMethod` arm of
/// `jinja_error` deleted.)
#[test]
fn unknown_methods_are_named() {
    assert_eq!(
        render_tag("{{ tag.nope() }}", "1"),
        Err("parse: template unknown method: string has no method named nope".to_string())
    );
}

/// Labels depend on the image, so checking a template treats every label name alike: the
/// check render offers no label at all. (Killed mutants: `sample_labels` returning a map with
/// one label, `""` or `xyzzy`, which changed what the check of a template naming that label
/// found.)
#[test]
fn checking_a_template_does_not_depend_on_the_label_names_it_uses() {
    let check = |label: &str| {
        berth::policy::template::TagTemplate::parse(&format!(
            "{{{{ labels[{label:?}] }}}}{{{{ tag | nope }}}}"
        ))
        .map(|_| ())
        .map_err(|e| e.message)
    };
    for label in ["", "xyzzy"] {
        assert_eq!(check(label), check("org.example.build"), "{label:?}");
    }
}

/// Holds E0205's place: the caret of a template error is at the byte the template parser
/// names, also when that is the end of the value (here an unterminated comment), in a double-
/// or single-quoted scalar. (Killed mutants: `off > tag.value.len()` made `>=` or `==` in
/// `compile::locate`, which put an error at the end of the value back at its start.)
#[test]
fn a_template_error_at_the_end_of_the_value_points_there() {
    for quoted in ["\"{{ tag }}{#\"", "'{{ tag }}{#'"] {
        let dir = tempfile::tempdir().unwrap();
        let src = fixture("policy-template");
        std::fs::copy(src.join("berth.yaml"), dir.path().join("berth.yaml")).unwrap();
        std::fs::create_dir(dir.path().join("policies")).unwrap();
        let policy = std::fs::read_to_string(src.join("policies/bad-template.yaml")).unwrap();
        let policy: String = policy
            .lines()
            .map(|l| {
                if l.starts_with("  tag: ") {
                    format!("  tag: {quoted}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(dir.path().join("policies/bad-template.yaml"), policy).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["validate", "--catalogue"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8(out.stdout).unwrap();
        // The value starts at column 9 (after the quote) and is 11 bytes long.
        let want = format!(
            "policies/bad-template.yaml:9:20: error[E0205]: target.tag {:?}: template syntax error: unexpected end of comment",
            "{{ tag }}{#"
        );
        assert_eq!(stdout.lines().next(), Some(want.as_str()), "{stdout}");
    }
}

/// Holds `criteria::parse_platform`, how an image's reported platform is read: `os/arch` or
/// `os/arch/variant`, each part non-empty and made of ASCII letters, digits, `_`, `-` and `.`;
/// anything else is no platform. (Killed mutants: every `&&`/`||` and `==` of its part check
/// and of its two match guards flipped.)
#[test]
fn image_platforms_are_read_as_os_arch_and_variant() {
    use berth::policy::criteria::parse_platform;
    let some = |os: &str, arch: &str, v: Option<&str>| {
        Some((os.to_string(), arch.to_string(), v.map(str::to_string)))
    };
    assert_eq!(parse_platform("linux/amd64"), some("linux", "amd64", None));
    assert_eq!(
        parse_platform("linux/arm64/v8"),
        some("linux", "arm64", Some("v8"))
    );
    assert_eq!(
        parse_platform("my_os/x-86/v.1"),
        some("my_os", "x-86", Some("v.1"))
    );
    for bad in [
        "linux",
        "linux/",
        "/amd64",
        "lin$ux/amd64",
        "linux/amd64$",
        "linux/amd 64",
        "linux/arm64/",
        "linux/arm64/v$",
        "lin$ux/arm64/v8",
        "linux/ar$m64/v8",
        "a/b/c/d",
    ] {
        assert_eq!(parse_platform(bad), None, "{bad}");
    }
}
