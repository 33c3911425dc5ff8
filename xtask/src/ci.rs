//! `cargo xtask ci`: the test command of the README and of `.ci/run`.

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

    let t = Instant::now();
    run_cmd(cargo().args(["test", "--workspace", "--doc", "--locked"]))?;
    step("doc tests", t);

    eprintln!("xtask: ci passed in {:.0?}", start.elapsed());
    Ok(())
}
