//! CLI snapshot cases over fixtures/demo (trycmd): `tests/cmd/demo/*.toml` with the expected
//! stdout/stderr next to each case. Regenerate with `TRYCMD=overwrite cargo test --test cli`
//! and review the diff.

#[test]
fn demo_cli_cases() {
    trycmd::TestCases::new().case("tests/cmd/demo/*.toml");
}
