//! `cargo xtask fuzz`: the cargo-fuzz targets of `fuzz/`, on the stable toolchain.
//!
//! ```text
//! cargo xtask fuzz [--seconds N] [--sanitizer address|none] [--list] [TARGET...]
//! ```
//!
//! Installs cargo-fuzz when missing (`cargo install cargo-fuzz --locked`), copies the
//! committed seeds `fuzz/seeds/TARGET/` into the working corpus `fuzz/corpus/TARGET/`
//! (git-ignored; inputs the fuzzer found before are kept), builds the targets once and
//! runs each for N seconds (default 60) with `RUSTC_BOOTSTRAP=1 cargo fuzz run`, which
//! turns on the nightly-only sanitizer flags on a stable compiler. Any crash fails the task;
//! cargo-fuzz leaves the input in `fuzz/artifacts/TARGET/`, to be turned into a regression
//! test of the crate at fault.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run_cmd};

const USAGE: &str =
    "usage: cargo xtask fuzz [--seconds N] [--sanitizer address|none] [--list] [TARGET...]

Runs the fuzz targets of fuzz/ (all by default) for N seconds each (default 60), seeded
from fuzz/seeds/TARGET/. Installs cargo-fuzz when missing. Fails on any crash.";

/// The fuzz targets: the `[[bin]]` names of `fuzz/Cargo.toml`.
pub(crate) fn targets() -> Result<Vec<String>> {
    let manifest = root().join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin && let Some(value) = line.strip_prefix("name") {
            let name = value
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            names.push(name.to_owned());
        }
    }
    if names.is_empty() {
        bail!("no [[bin]] targets in {}", manifest.display());
    }
    Ok(names)
}

struct Options {
    seconds: u64,
    sanitizer: String,
    list: bool,
    targets: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut opts = Options {
        seconds: 60,
        sanitizer: "address".to_owned(),
        list: false,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--list" => opts.list = true,
            "--seconds" => {
                let v = it.next().context("--seconds needs a value")?;
                opts.seconds = v
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .with_context(|| format!("--seconds {v}: a positive number is needed"))?;
            }
            "--sanitizer" => {
                let v = it.next().context("--sanitizer needs a value")?;
                if !["address", "none"].contains(&v.as_str()) {
                    bail!("--sanitizer {v}: use address or none");
                }
                v.clone_into(&mut opts.sanitizer);
            }
            other if other.starts_with('-') => bail!("unknown option `{other}`\n\n{USAGE}"),
            target => opts.targets.push(target.to_owned()),
        }
    }
    Ok(Some(opts))
}

/// Whether `cargo fuzz` runs.
fn have_cargo_fuzz() -> bool {
    cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs cargo-fuzz with `cargo install --locked` unless `cargo fuzz` already runs.
fn ensure_cargo_fuzz() -> Result<()> {
    if have_cargo_fuzz() {
        return Ok(());
    }
    let t = Instant::now();
    run_cmd(cargo().args(["install", "cargo-fuzz", "--locked"]))
        .context("installing cargo-fuzz")?;
    eprintln!("xtask: cargo-fuzz installed in {:.0?}", t.elapsed());
    Ok(())
}

/// `RUSTC_BOOTSTRAP=1 cargo fuzz SUBCOMMAND`, always with the same environment so that
/// cargo reuses its builds.
fn cargo_fuzz(subcommand: &str, sanitizer: &str) -> Command {
    let mut cmd = cargo();
    cmd.args(["fuzz", subcommand, "--sanitizer", sanitizer])
        .env("RUSTC_BOOTSTRAP", "1");
    cmd
}

/// Copies the committed seeds of `target` into its corpus folder (keeping what is there).
fn seed_corpus(target: &str) -> Result<PathBuf> {
    let seeds = root().join("fuzz/seeds").join(target);
    let corpus = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    if let Ok(entries) = std::fs::read_dir(&seeds) {
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", seeds.display()))?;
            let to = corpus.join(format!("seed-{}", entry.file_name().to_string_lossy()));
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(corpus)
}

/// Runs the given targets (all when empty) for `seconds` each; fails on the first crash.
pub(crate) fn fuzz(targets: &[String], seconds: u64, sanitizer: &str) -> Result<()> {
    let all = targets_or_all(targets)?;
    ensure_cargo_fuzz()?;
    let t = Instant::now();
    run_cmd(&mut cargo_fuzz("build", sanitizer))?;
    eprintln!("xtask: fuzz targets built in {:.0?}", t.elapsed());
    for target in &all {
        let corpus = seed_corpus(target)?;
        let t = Instant::now();
        run_cmd(
            cargo_fuzz("run", sanitizer)
                .arg(target)
                .arg(rel(&corpus))
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-print_final_stats=1"),
        )
        .with_context(|| {
            format!(
                "fuzz target {target} failed: the input is in fuzz/artifacts/{target}/; make it a \
                 regression test in the crate at fault"
            )
        })?;
        eprintln!("xtask: fuzz {target}: no crash in {:.0?}", t.elapsed());
    }
    Ok(())
}

fn targets_or_all(wanted: &[String]) -> Result<Vec<String>> {
    let all = targets()?;
    if wanted.is_empty() {
        return Ok(all);
    }
    for t in wanted {
        if !all.contains(t) {
            bail!("no fuzz target `{t}`; the targets are: {}", all.join(", "));
        }
    }
    Ok(wanted.to_vec())
}

fn rel(path: &Path) -> PathBuf {
    path.strip_prefix(root())
        .map_or_else(|_| path.to_owned(), Path::to_owned)
}

/// `cargo xtask fuzz`: see the module documentation.
///
/// # Errors
/// On a bad option, when cargo-fuzz cannot be installed, a target does not build, or a
/// target crashes.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(opts) = parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    if opts.list {
        for t in targets()? {
            println!("{t}");
        }
        return Ok(());
    }
    let start = Instant::now();
    fuzz(&opts.targets, opts.seconds, &opts.sanitizer)?;
    eprintln!("xtask: fuzzing done in {:.0?}, no crash", start.elapsed());
    Ok(())
}

/// The CI smoke run: every target for a few seconds, about two minutes of fuzzing in all.
///
/// # Errors
/// As [`fuzz`].
pub(crate) fn smoke() -> Result<()> {
    let n = u64::try_from(targets()?.len()).unwrap_or(1).max(1);
    let seconds = (120 / n).max(5);
    fuzz(&[], seconds, "address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_manifest_targets() {
        let targets = targets().unwrap();
        assert!(targets.contains(&"jws_decode".to_owned()), "{targets:?}");
        for t in &targets {
            assert!(
                root()
                    .join("fuzz/fuzz_targets")
                    .join(format!("{t}.rs"))
                    .is_file(),
                "{t}"
            );
            assert!(
                root().join("fuzz/seeds").join(t).is_dir(),
                "no seeds for {t}"
            );
        }
    }

    #[test]
    fn options() {
        let args: Vec<String> = ["--seconds", "5", "jwk"].map(String::from).to_vec();
        let opts = parse(&args).unwrap().unwrap();
        assert_eq!(opts.seconds, 5);
        assert_eq!(opts.targets, ["jwk"]);
        assert!(parse(&["--seconds".to_owned(), "0".to_owned()]).is_err());
    }
}
