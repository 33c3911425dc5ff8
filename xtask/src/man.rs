//! `cargo xtask man`: the man pages in `TARGET/man` (`hsmjwt.1` and one per subcommand,
//! `hsmjwt-sign.1`, `hsmjwt-ims-jwt.1`, ...), written by `hsmjwt man` from the CLI's own clap
//! definitions, then checked: every page is there, the top page lists the subcommands, and
//! examples keep their lines.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, ensure};

use crate::{cargo, run_cmd};

/// The subcommands of `hsmjwt`, each with a page and listed on `hsmjwt.1`.
const COMMANDS: &[&str] = &[
    "keygen",
    "pubkey",
    "sign",
    "verify",
    "decode",
    "hsm",
    "ims",
    "oauth",
    "demo",
    "bench",
    "service-token",
    "jar",
    "credentials",
    "cert",
    "completions",
    "man",
];

/// The nested subcommands, each with a page (`hsmjwt-ims-jwt.1`).
const NESTED: &[&str] = &[
    "hsm-list",
    "ims-jwt",
    "ims-token",
    "ims-emulator",
    "oauth-token",
    "credentials-check",
    "cert-self-signed",
    "cert-csr",
    "cert-show",
];

pub(crate) fn run(_args: &[String]) -> Result<()> {
    let dir = crate::bench::target_dir().join("man");
    // Pages of commands that no longer exist must not linger.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    run_cmd(
        cargo()
            .args([
                "run",
                "--quiet",
                "--locked",
                "--package",
                "hsmjwt-cli",
                "--",
            ])
            .args(["man", "--out-dir"])
            .arg(&dir)
            .stdout(Stdio::null()),
    )?;
    check(&dir)?;
    eprintln!(
        "xtask: {} man pages in {} (read one with `man -l {}`)",
        COMMANDS.len() + NESTED.len() + 1,
        dir.display(),
        dir.join("hsmjwt.1").display()
    );
    Ok(())
}

fn page(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(format!("{name}.1"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("no page {}", path.display()))?;
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"] {
        ensure!(
            text.contains(section),
            "{} has no `{section}`",
            path.display()
        );
    }
    Ok(text)
}

/// The roff text of the pages: each there, the subcommands listed on the top page (roff
/// writes a hyphen `\-`), examples and exit statuses as sections in no-fill mode.
fn check(dir: &Path) -> Result<()> {
    let top = page(dir, "hsmjwt")?;
    ensure!(top.contains(".TH hsmjwt 1"), "hsmjwt.1 has no title line");
    for name in COMMANDS {
        page(dir, &format!("hsmjwt-{name}"))?;
        let listed = format!("hsmjwt\\-{}(1)", name.replace('-', "\\-"));
        ensure!(top.contains(&listed), "hsmjwt.1 does not list `{listed}`");
    }
    for name in NESTED {
        page(dir, &format!("hsmjwt-{name}"))?;
    }
    ensure!(
        top.contains(".SH \"EXIT STATUS\"\n.nf\n"),
        "hsmjwt.1 has no EXIT STATUS section"
    );
    let sign = page(dir, "hsmjwt-sign")?;
    ensure!(
        sign.contains(".SH EXAMPLES\n.nf\n"),
        "hsmjwt-sign.1 has no EXAMPLES section in no-fill mode"
    );
    Ok(())
}
