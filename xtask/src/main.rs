//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! - `bench`: the benchmarks and `target/bench-report.md`, their ratios against targets
//! - `ci`: everything CI checks (SoftHSM set-up, fmt, clippy, tests, the conformance suite on
//!   every PKCS#11 module, doc tests, docs, benchmarks once in test mode, a fuzz smoke run,
//!   cargo-deny, packaging of the publishable crates)
//! - `demo`: the README's main command: a key in software and one in a fresh SoftHSM
//!   token, a token minted with each and verified
//! - `fuzz`: run the cargo-fuzz targets of `fuzz/` on the stable toolchain
//! - `man`: the man pages of `hsmjwt` in `target/man`, checked
//! - `modules` / `conformance`: the PKCS#11 modules other than SoftHSM2 (Kryoptic built from
//!   crates.io, tpm2-pkcs11 on swtpm, p11-kit remoting) set up, and the conformance suite run
//!   against each
//! - `package`: crates.io metadata and `cargo package` (verified) of every publishable crate
//! - `softhsm`: prepare a SoftHSM token for manual use

mod bench;
mod ci;
mod demo;
mod fuzz;
mod man;
mod modules;
mod package;
mod softhsm;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("ci") => ci::run(&args[1..]),
        Some("demo") => demo::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("man") => man::run(&args[1..]),
        Some("modules") => modules::run(&args[1..]),
        Some("conformance") => modules::conformance(&args[1..]),
        Some("package") => package::run(&args[1..]),
        Some("softhsm") => softhsm::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task `{other}`\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const HELP: &str = "usage: cargo xtask <task>

tasks:
  bench        [CRITERION_ARGS]: run benches/ with SoftHSM2 and jsonwebtoken references,
               write target/bench-report.md (ratios against the targets)
  ci           install SoftHSM2 if missing, then fmt check, clippy -D warnings, tests, the
               PKCS#11 conformance suite on every module (as `conformance`), doc tests, cargo
               doc (warnings denied), the man pages, packaging (as `package`), benchmarks once
               in test mode, a fuzz smoke run, cargo deny (tools installed if missing)
  conformance  [KIND ...]: set up the PKCS#11 modules (softhsm, kryoptic, tpm2, p11kit; all
               by default) and run the conformance suite against each
  demo         build hsmjwt, mint and verify tokens with a software key and a SoftHSM key
  fuzz         [--seconds N] [TARGET]: run the fuzz targets (all by default) for N seconds each
  man          write the man pages of hsmjwt (from its clap definitions) to target/man, and
               check them
  modules      [KIND ...]: install or build the PKCS#11 modules and print where they are
  package      check the crates.io metadata of every publishable crate, then `cargo package`
               them all, each verified by building it from its .crate
  softhsm      [--dir DIR] [--label L] [--pin P] [--so-pin P]: prepare a SoftHSM token by hand";

/// The workspace root (the parent of xtask/).
pub(crate) fn root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), std::path::Path::to_path_buf)
}

/// Runs a command in the workspace root, echoing it, and fails on a non-zero exit.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<()> {
    cmd.current_dir(root());
    eprintln!("xtask: $ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", show(cmd));
    }
    Ok(())
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cargo` as invoked by this xtask.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
