//! `cargo xtask bench`: the benchmarks of `benches/` and the table of their ratios.
//!
//! ```text
//! cargo xtask bench [CRITERION_ARGS...]
//! ```
//!
//! Prepares what the benchmarks need (a SoftHSM2 token with an RSA and a P-256 key in
//! `TARGET/bench-softhsm`, the `jsonwebtoken` `rust_crypto` helper built from
//! `benches/jwt-rust-crypto`), runs `cargo bench -p hsmjwt` with them in the environment,
//! then reads criterion's medians (`TARGET/criterion/GROUP/FUNCTION/new/estimates.json`)
//! and writes `TARGET/bench-report.md`: each target, the measured ratio of medians (both
//! sides measured in the same run) and whether it passes. Arguments go to criterion, e.g.
//! `cargo xtask bench mint-ES256` for one group (the report then lists the rest as
//! missing). `TARGET` is `$CARGO_TARGET_DIR`, else `target/`.
//!
//! The bench exits non-zero only when a benchmark fails to run; missed targets are
//! reported in the table, not as an error (they are measurements, not tests).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::softhsm::{self, MODULE};
use crate::{cargo, root, run_cmd};

/// The token the HSM benchmarks use, its PINs, and its keys: (label, id, pkcs11-tool type).
const TOKEN: &str = "hsmjwt-bench";
const PIN: &str = "1234";
const SO_PIN: &str = "12345678";
const KEYS: [(&str, &str, &str); 2] = [
    ("bench-rsa", "01", "rsa:2048"),
    ("bench-p256", "02", "EC:prime256v1"),
];

/// The criterion groups this workspace defines; the report reads these.
const GROUPS: [&str; 9] = [
    "mint-RS256",
    "mint-PS256",
    "mint-ES256",
    "verify-RS256",
    "verify-ES256",
    "parse",
    "hsm-RS256",
    "hsm-ES256",
    "cache",
];

/// The target directory: `$CARGO_TARGET_DIR` (relative to the workspace root), else
/// `target/`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Everything the benchmarks need in their environment.
pub(crate) struct BenchEnv {
    vars: Vec<(&'static str, String)>,
}

impl BenchEnv {
    /// Puts the variables on `cmd`.
    pub(crate) fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }
}

/// Installs SoftHSM2 when missing, prepares the benchmark token and keys, builds the
/// `rust_crypto` helper; returns the environment for `cargo bench`.
///
/// # Errors
/// When SoftHSM2 cannot be installed, the token or keys cannot be made, or the helper
/// does not build.
pub(crate) fn prepare() -> Result<BenchEnv> {
    softhsm::ensure_installed()?;
    let target = target_dir();
    let conf = softhsm::prepare_token(&target.join("bench-softhsm"), TOKEN, PIN, SO_PIN)?;
    for (label, id, key_type) in KEYS {
        ensure_key(&conf, label, id, key_type)?;
    }
    let helper_target = target.join("jwt-rust-crypto");
    run_cmd(
        cargo()
            .args([
                "build",
                "--release",
                "--locked",
                "--quiet",
                "--manifest-path",
            ])
            .arg(root().join("benches/jwt-rust-crypto/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &helper_target),
    )
    .context("building the jsonwebtoken rust_crypto helper (benches/jwt-rust-crypto)")?;
    let helper = helper_target.join("release/jwt-rust-crypto");
    Ok(BenchEnv {
        vars: vec![
            ("SOFTHSM2_CONF", conf.display().to_string()),
            ("PKCS11_MODULE", MODULE.to_owned()),
            ("HSMJWT_PIN", PIN.to_owned()),
            ("HSMJWT_BENCH_TOKEN", TOKEN.to_owned()),
            ("HSMJWT_BENCH_RUST_CRYPTO", helper.display().to_string()),
            ("HSMJWT_BENCH_REQUIRE", "1".to_owned()),
        ],
    })
}

/// Makes the key pair `label` on the benchmark token with pkcs11-tool unless it is there.
fn ensure_key(conf: &Path, label: &str, id: &str, key_type: &str) -> Result<()> {
    let tool = |args: &[&str]| {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.args([
            "--module",
            MODULE,
            "--token-label",
            TOKEN,
            "--login",
            "--pin",
            PIN,
        ])
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .stdin(Stdio::null());
        cmd
    };
    let out = tool(&["--list-objects", "--type", "privkey"])
        .output()
        .context("cannot start pkcs11-tool")?;
    if !out.status.success() {
        bail!(
            "pkcs11-tool --list-objects failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let listed = String::from_utf8_lossy(&out.stdout);
    if listed
        .lines()
        .any(|l| l.trim().strip_prefix("label:").map(str::trim) == Some(label))
    {
        return Ok(());
    }
    eprintln!("xtask: making key {label} ({key_type}) on token {TOKEN}");
    let out = tool(&[
        "--keypairgen",
        "--key-type",
        key_type,
        "--id",
        id,
        "--label",
        label,
    ])
    .output()
    .context("cannot start pkcs11-tool")?;
    if !out.status.success() {
        bail!(
            "pkcs11-tool --keypairgen {label} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `cargo xtask bench`: see the module documentation.
///
/// # Errors
/// When the preparation or a benchmark fails, or the report cannot be written.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: cargo xtask bench [CRITERION_ARGS...]\n\nRuns benches/ (software, SoftHSM2, \
             jsonwebtoken references) and writes target/bench-report.md."
        );
        return Ok(());
    }
    let start = Instant::now();
    let env = prepare()?;
    let criterion = target_dir().join("criterion");
    if args.is_empty() {
        // No stale numbers from an earlier run in the report.
        for group in GROUPS {
            let dir = criterion.join(group);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
    }
    let load_before = load_average();
    run_cmd(
        env.apply(cargo().args(["bench", "--locked", "-p", "hsmjwt", "--benches", "--"]))
            .args(args),
    )?;
    let load_after = load_average();
    let report = report(&criterion, &machine(), &load_before, &load_after)?;
    let path = target_dir().join("bench-report.md");
    std::fs::write(&path, &report).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{report}");
    eprintln!(
        "xtask: bench done in {:.0?}; report in {}",
        start.elapsed(),
        path.display()
    );
    Ok(())
}

/// Compiles the benchmarks and runs each once (`cargo bench -- --test`), with the
/// SoftHSM2 token and the helper: the CI step.
///
/// # Errors
/// When the preparation or any benchmark fails.
pub(crate) fn smoke() -> Result<()> {
    let env = prepare()?;
    run_cmd(env.apply(cargo().args([
        "bench",
        "--locked",
        "-p",
        "hsmjwt",
        "--benches",
        "--",
        "--test",
    ])))
}

/// What to compare: (group, benchmark, reference, target, what the ratio means).
struct Check {
    group: &'static str,
    ours: &'static str,
    reference: &'static str,
    /// The ratio must be at least this (speed of ours over speed of the reference).
    at_least: f64,
    what: &'static str,
}

const fn check(
    group: &'static str,
    ours: &'static str,
    reference: &'static str,
    at_least: f64,
    what: &'static str,
) -> Check {
    Check {
        group,
        ours,
        reference,
        at_least,
        what,
    }
}

const CHECKS: &[Check] = &[
    check(
        "mint-RS256",
        "hsmjwt",
        "aws-lc-rs",
        0.95,
        "mint RS256 vs raw aws-lc-rs signature",
    ),
    check(
        "mint-RS256",
        "hsmjwt",
        "jsonwebtoken-aws-lc-rs",
        1.0,
        "mint RS256 vs jsonwebtoken (aws_lc_rs)",
    ),
    check(
        "mint-RS256",
        "hsmjwt",
        "jsonwebtoken-rust-crypto",
        5.0,
        "mint RS256 vs jsonwebtoken (rust_crypto)",
    ),
    check(
        "mint-PS256",
        "hsmjwt",
        "aws-lc-rs",
        0.95,
        "mint PS256 vs raw aws-lc-rs signature",
    ),
    check(
        "mint-PS256",
        "hsmjwt",
        "jsonwebtoken-aws-lc-rs",
        1.0,
        "mint PS256 vs jsonwebtoken (aws_lc_rs)",
    ),
    check(
        "mint-PS256",
        "hsmjwt",
        "jsonwebtoken-rust-crypto",
        5.0,
        "mint PS256 vs jsonwebtoken (rust_crypto)",
    ),
    check(
        "mint-ES256",
        "hsmjwt",
        "aws-lc-rs",
        0.95,
        "mint ES256 vs raw aws-lc-rs signature",
    ),
    check(
        "mint-ES256",
        "hsmjwt",
        "jsonwebtoken-aws-lc-rs",
        1.0,
        "mint ES256 vs jsonwebtoken (aws_lc_rs)",
    ),
    check(
        "mint-ES256",
        "hsmjwt",
        "jsonwebtoken-rust-crypto",
        5.0,
        "mint ES256 vs jsonwebtoken (rust_crypto)",
    ),
    check(
        "verify-RS256",
        "hsmjwt",
        "jsonwebtoken",
        1.0,
        "verify+validate RS256 vs jsonwebtoken",
    ),
    check(
        "verify-RS256",
        "hsmjwt",
        "aws-lc-rs",
        0.0,
        "verify+validate RS256 vs raw aws-lc-rs verify (no target)",
    ),
    check(
        "verify-ES256",
        "hsmjwt",
        "jsonwebtoken",
        1.0,
        "verify+validate ES256 vs jsonwebtoken",
    ),
    check(
        "verify-ES256",
        "hsmjwt",
        "aws-lc-rs",
        0.0,
        "verify+validate ES256 vs raw aws-lc-rs verify (no target)",
    ),
    check(
        "parse",
        "hsmjwt",
        "jsonwebtoken",
        1.5,
        "parse 1 KB token (no check) vs jsonwebtoken insecure_decode",
    ),
    check(
        "hsm-RS256",
        "hsmjwt-1t",
        "cryptoki-1t",
        0.95,
        "HSM mint RS256, 1 thread, vs raw C_Sign loop",
    ),
    check(
        "hsm-RS256",
        "hsmjwt-2t",
        "cryptoki-2t",
        0.95,
        "HSM mint RS256, 2 threads, vs raw C_Sign loop",
    ),
    check(
        "hsm-RS256",
        "hsmjwt-2t",
        "hsmjwt-1t",
        1.7,
        "HSM mint RS256, 2 threads vs 1 thread",
    ),
    check(
        "hsm-ES256",
        "hsmjwt-1t",
        "cryptoki-1t",
        0.95,
        "HSM mint ES256, 1 thread, vs raw C_Sign loop",
    ),
    check(
        "hsm-ES256",
        "hsmjwt-2t",
        "cryptoki-2t",
        0.95,
        "HSM mint ES256, 2 threads, vs raw C_Sign loop",
    ),
    check(
        "hsm-ES256",
        "hsmjwt-2t",
        "hsmjwt-1t",
        1.7,
        "HSM mint ES256, 2 threads vs 1 thread",
    ),
];

/// Absolute limits: (group, benchmark, most nanoseconds, what).
const LIMITS: &[(&str, &str, f64, &str)] = &[
    ("cache", "hit-1t", 1000.0, "token cache hit, 1 thread"),
    ("cache", "hit-2t", 1000.0, "token cache hit, 2 threads"),
];

/// The median of one benchmark in nanoseconds, from criterion's `estimates.json`.
pub(crate) fn median_ns(criterion: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = criterion.join(group).join(bench).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    json_number_after(&text, "\"median\"", "\"point_estimate\"")
}

/// A tiny reader for criterion's JSON: the number after `key`, after `section`.
fn json_number_after(text: &str, section: &str, key: &str) -> Option<f64> {
    let rest = &text[text.find(section)? + section.len()..];
    let rest = &rest[rest.find(key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The Markdown report.
fn report(criterion: &Path, machine: &str, before: &str, after: &str) -> Result<String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut failed = 0;
    writeln!(out, "# hsmjwt benchmark report\n")?;
    writeln!(
        out,
        "Machine: {machine}. Load average (1, 5, 15 min) before: {before}; after: {after}."
    )?;
    writeln!(
        out,
        "Ratios are of criterion medians measured in the same run: the speed of hsmjwt over \
         the speed of the reference (> 1 is faster).\n"
    )?;
    writeln!(out, "| comparison | target | measured | result |")?;
    writeln!(out, "|---|---|---|---|")?;
    for c in CHECKS {
        let ours = median_ns(criterion, c.group, c.ours);
        let theirs = median_ns(criterion, c.group, c.reference);
        let target = if c.at_least > 0.0 {
            format!("≥ {:.2}x", c.at_least)
        } else {
            "—".to_owned()
        };
        let (measured, result) = match (ours, theirs) {
            (Some(o), Some(t)) if o > 0.0 => {
                let ratio = t / o;
                let result = if c.at_least <= 0.0 {
                    "info"
                } else if ratio >= c.at_least {
                    "pass"
                } else {
                    failed += 1;
                    "**FAIL**"
                };
                (format!("{ratio:.2}x"), result)
            }
            _ => {
                if c.at_least > 0.0 {
                    failed += 1;
                }
                ("missing".to_owned(), "**not run**")
            }
        };
        writeln!(out, "| {} | {target} | {measured} | {result} |", c.what)?;
    }
    for (group, bench, limit, what) in LIMITS {
        let (measured, result) = match median_ns(criterion, group, bench) {
            Some(ns) if ns < *limit => (format_ns(ns), "pass"),
            Some(ns) => {
                failed += 1;
                (format_ns(ns), "**FAIL**")
            }
            None => {
                failed += 1;
                ("missing".to_owned(), "**not run**")
            }
        };
        writeln!(
            out,
            "| {what} | < {} | {measured} | {result} |",
            format_ns(*limit)
        )?;
    }
    writeln!(out, "\n{} of the targets missed or not run.\n", failed)?;
    writeln!(
        out,
        "Medians (time per token or check; ops/s in brackets):\n"
    )?;
    writeln!(out, "| group | benchmark | median |")?;
    writeln!(out, "|---|---|---|")?;
    for group in GROUPS {
        let Ok(entries) = std::fs::read_dir(criterion.join(group)) else {
            continue;
        };
        let mut benches: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("new/estimates.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        benches.sort();
        for bench in benches {
            if let Some(ns) = median_ns(criterion, group, &bench) {
                writeln!(
                    out,
                    "| {group} | {bench} | {} ({:.0}/s) |",
                    format_ns(ns),
                    1e9 / ns
                )?;
            }
        }
    }
    Ok(out)
}

/// The CPU model and the number of cores, from /proc/cpuinfo.
fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {cores} cores available")
}

/// The load averages from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_medians() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":17000.5,"upper_bound":18000.0},"point_estimate":17522.25,"standard_error":12.0}}"#;
        assert_eq!(
            json_number_after(json, "\"median\"", "\"point_estimate\""),
            Some(17522.25)
        );
        assert_eq!(
            json_number_after(json, "\"slope\"", "\"point_estimate\""),
            None
        );
        assert_eq!(
            json_number_after(
                r#"{"median":{"point_estimate":1e3}}"#,
                "\"median\"",
                "\"point_estimate\""
            ),
            Some(1000.0)
        );
    }
}
