//! `cargo xtask ci`: the test command of the README and of `.ci/run`.
//!
//! After fmt, clippy, the tests, the PKCS#11 conformance suite on every module
//! (`modules::run_suite`), the API docs (`cargo doc`, warnings denied) and the man
//! pages (`man::run`): the packaging of every publishable crate (`package::check`:
//! crates.io metadata, then `cargo package` with each `.crate` built on its own), the
//! benchmarks once in test mode (`bench::smoke`), every fuzz target for a few seconds
//! (`fuzz::smoke`) and `cargo deny`. cargo-fuzz and cargo-deny are installed from
//! crates.io when missing.

use std::time::Instant;

use anyhow::Result;

use crate::{cargo, run_cmd};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    let start = Instant::now();
    crate::softhsm::ensure_installed()?;
    let step = |name: &str, t: Instant| eprintln!("xtask: {name} done in {:.0?}", t.elapsed());

    let t = Instant::now();
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("fmt", t);

    let t = Instant::now();
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("clippy", t);

    // Tests that need SoftHSM fail instead of skipping when it is missing.
    let t = Instant::now();
    run_cmd(
        cargo()
            .args(["test", "--workspace", "--all-targets", "--locked"])
            .env("HSMJWT_REQUIRE_SOFTHSM", "1"),
    )?;
    step("tests", t);

    // The PKCS#11 conformance suite against SoftHSM2, Kryoptic (built from crates.io once,
    // cached under target/), tpm2-pkcs11 on swtpm and p11-kit remoting, each set up first:
    // a module that cannot be set up fails here.
    let t = Instant::now();
    run_cmd(cargo().args([
        "clippy",
        "-p",
        "hsmjwt-cli",
        "--test",
        "conformance",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    crate::modules::run_suite(&hsmjwt_testkit::modules::Kind::ALL)?;
    step("conformance suite", t);

    let t = Instant::now();
    run_cmd(cargo().args(["test", "--workspace", "--doc", "--locked"]))?;
    step("doc tests", t);

    // The API documentation builds without a warning (broken intra-doc links, bad HTML).
    // The CLI is left out: its binary `hsmjwt` would overwrite the facade's docs.
    let t = Instant::now();
    run_cmd(
        cargo()
            .args([
                "doc",
                "--no-deps",
                "--workspace",
                "--all-features",
                "--exclude",
                "hsmjwt-cli",
                "--exclude",
                "xtask",
                "--locked",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    step("docs", t);

    // The man pages from the CLI's definitions (the binary is built by now: seconds).
    let t = Instant::now();
    crate::man::run(&[])?;
    step("man pages", t);

    // Every crate the workspace publishes (no `publish = false`) has its crates.io metadata,
    // packages, and builds from its `.crate` alone (see `package::check`; `--allow-dirty`,
    // so uncommitted changes are checked rather than refused).
    let t = Instant::now();
    crate::package::check()?;
    step("packaging", t);

    // Each benchmark once, in test mode, with the SoftHSM2 token and the rust_crypto helper.
    let t = Instant::now();
    crate::bench::smoke()?;
    step("benchmarks (test mode)", t);

    let t = Instant::now();
    crate::fuzz::smoke()?;
    step("fuzz smoke", t);

    let t = Instant::now();
    deny()?;
    step("cargo deny", t);

    eprintln!("xtask: ci passed in {:.0?}", start.elapsed());
    Ok(())
}

/// `cargo deny check bans licenses sources` (advisories need the RustSec database, which
/// cannot be fetched here), installing cargo-deny when missing.
fn deny() -> Result<()> {
    let have = cargo()
        .args(["deny", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        let t = Instant::now();
        run_cmd(cargo().args(["install", "cargo-deny", "--locked"]))?;
        eprintln!("xtask: cargo-deny installed in {:.0?}", t.elapsed());
    }
    run_cmd(cargo().args(["deny", "check", "bans", "licenses", "sources"]))
}
