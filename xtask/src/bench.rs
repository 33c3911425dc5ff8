//! `cargo xtask bench`: the benchmarks of `benches/` and the table of their ratios.
//!
//! ```text
//! cargo xtask bench [CRITERION_ARGS...]
//! ```
//!
//! Prepares what the benchmarks need (a SoftHSM2 token with an RSA and a P-256 key in
//! `TARGET/bench-softhsm`, the `jsonwebtoken` `rust_crypto` helper built from
//! `benches/jwt-rust-crypto`), runs `cargo bench -p hsmjwt` with them in the environment,
//! and writes `TARGET/bench-report.md`: each target, the measured ratio and whether it
//! passes. `TARGET` is `$CARGO_TARGET_DIR`, else `target/`.
//!
//! The ratios come from paired rounds, not from criterion: after its criterion functions,
//! each comparison group measures the same contenders interleaved (`benches/common`,
//! `paired`), one block of operations each per round, the order rotating, and writes the
//! time per operation of every contender in every round to
//! `TARGET/bench-paired/GROUP.json` (`$HSMJWT_BENCH_PAIRED_DIR`). A check's ratio is the
//! median over the rounds of (reference's time per operation ÷ ours) in the same round, so
//! load that comes and goes on a shared machine weighs on both sides alike; criterion,
//! which measures one function after the other, cannot promise that. A check whose paired
//! file is missing is "not run". The absolute limits (the token cache) and the table of
//! times are criterion's medians (`TARGET/criterion/GROUP/FUNCTION/new/estimates.json`).
//!
//! Arguments go to the bench binaries, e.g. `cargo xtask bench mint-ES256` for one group
//! (its paired pass runs when the group's name contains the filter). The report takes only
//! what this run wrote: files older than its start (the other groups of an earlier run)
//! are "not run". Without arguments those files are removed first. With `--test` (each
//! benchmark once, as in CI) nothing is measured and no report is written.
//!
//! The bench exits non-zero only when a benchmark fails to run; missed targets are
//! reported in the table, not as an error (they are measurements, not tests).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use hsmjwt_testkit::modules::{Kind, Token};
use hsmjwt_testkit::secrecy::ExposeSecret as _;
use hsmjwt_testkit::softhsm::{Builder, Installation};

use crate::softhsm;
use crate::{cargo, root, run_cmd};

/// The token the HSM benchmarks use and its keys: (label, id, pkcs11-tool type).
const TOKEN: &str = "hsmjwt-bench";
const KEYS: [(&str, &str, &str); 2] = [
    ("bench-rsa", "01", "rsa:2048"),
    ("bench-p256", "02", "EC:prime256v1"),
];

/// The criterion groups this workspace defines; the report reads these.
const GROUPS: [&str; 16] = [
    "mint-RS256",
    "mint-PS256",
    "mint-ES256",
    "mint-ES512",
    "mint-EdDSA",
    "verify-RS256",
    "verify-ES256",
    "parse",
    "hsm-RS256",
    "hsm-ES256",
    "hsm-kryoptic-ES256",
    "hsm-tpm2-ES256",
    "hsm-p11kit-ES256",
    "cache",
    "agent-token",
    "agent-sign",
];

/// The environment variable that tells the benches where to write their paired rounds.
const PAIRED_DIR_ENV: &str = "HSMJWT_BENCH_PAIRED_DIR";

/// Where the benches write their paired rounds, one `GROUP.json` per comparison group.
fn paired_dir() -> PathBuf {
    target_dir().join("bench-paired")
}

/// The target directory: `$CARGO_TARGET_DIR` (relative to the workspace root), else
/// `target/`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Everything the benchmarks need in their environment, and the other modules' tokens
/// (their servers run while this lives).
pub(crate) struct BenchEnv {
    vars: Vec<(&'static str, String)>,
    _tokens: Vec<Token>,
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
    let mut spec = Builder::new(Installation::detect())
        .dir(target.join("bench-softhsm"))
        .token(TOKEN);
    for (label, id, key_type) in KEYS {
        spec = spec.key(TOKEN, label, id, key_type);
    }
    let hsm = softhsm::prepare(&spec)?;
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
    let mut vars: Vec<(&'static str, String)> = hsm
        .env()
        .into_iter()
        .map(|(name, value)| (name, value.to_string_lossy().into_owned()))
        .collect();
    vars.extend([
        ("HSMJWT_PIN", hsm.pin().expose_secret().to_owned()),
        ("HSMJWT_BENCH_TOKEN", TOKEN.to_owned()),
        ("HSMJWT_BENCH_RUST_CRYPTO", helper.display().to_string()),
        ("HSMJWT_BENCH_REQUIRE", "1".to_owned()),
        (PAIRED_DIR_ENV, paired_dir().display().to_string()),
    ]);
    // A token with a P-256 key on each other module (`hsm-MODULE-ES256`).
    let mut tokens = Vec::new();
    for (kind, var) in MODULE_GROUPS {
        let setup = crate::modules::ensure(kind)?;
        let token = setup
            .start(&format!("bench-{kind}"))
            .with_context(|| format!("cannot start a {kind} token for the benchmarks"))?;
        token
            .keypairgen("bench-p256", "02", "EC:prime256v1")
            .with_context(|| format!("cannot make the {kind} benchmark key"))?;
        vars.extend(
            token
                .env()
                .into_iter()
                .filter(|(name, _)| *name != "PKCS11_MODULE")
                .map(|(name, value)| (name, value.to_string_lossy().into_owned())),
        );
        vars.push((var, token.module().display().to_string()));
        tokens.push(token);
    }
    Ok(BenchEnv {
        vars,
        _tokens: tokens,
    })
}

/// The other modules benchmarked beside SoftHSM2, and the variable naming each one's path
/// for `benches/hsm.rs`.
const MODULE_GROUPS: [(Kind, &str); 3] = [
    (Kind::Kryoptic, "HSMJWT_BENCH_MODULE_KRYOPTIC"),
    (Kind::Tpm2, "HSMJWT_BENCH_MODULE_TPM2"),
    (Kind::P11Kit, "HSMJWT_BENCH_MODULE_P11KIT"),
];

/// `cargo xtask bench`: see the module documentation.
///
/// # Errors
/// When the preparation or a benchmark fails, or the report cannot be written.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: cargo xtask bench [CRITERION_ARGS...]\n\nRuns benches/ (software, SoftHSM2, \
             jsonwebtoken references) and writes target/bench-report.md: ratios from paired, \
             interleaved rounds (target/bench-paired), times from criterion."
        );
        return Ok(());
    }
    let start = Instant::now();
    let since = SystemTime::now();
    let env = prepare()?;
    let criterion = target_dir().join("criterion");
    let paired = paired_dir();
    if args.is_empty() {
        // No stale numbers from an earlier run in the report.
        for group in GROUPS {
            let dir = criterion.join(group);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
            let file = paired.join(format!("{group}.json"));
            if file.exists() {
                std::fs::remove_file(&file)
                    .with_context(|| format!("cannot remove {}", file.display()))?;
            }
        }
    }
    let load_before = load_average();
    run_cmd(
        env.apply(cargo().args([
            "bench",
            "--locked",
            "-p",
            "hsmjwt",
            "-p",
            "hsmjwt-agent",
            "--benches",
            "--",
        ]))
        .args(args),
    )?;
    let load_after = load_average();
    if args.iter().any(|a| a == "--test") {
        eprintln!("xtask: benches run once each in test mode; nothing measured, no report written");
        return Ok(());
    }
    let report = report(
        &criterion,
        &paired,
        since,
        &machine(),
        &load_before,
        &load_after,
    )?;
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
        "-p",
        "hsmjwt-agent",
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
        "mint-ES512",
        "hsmjwt",
        "aws-lc-rs",
        0.95,
        "mint ES512 vs raw aws-lc-rs signature",
    ),
    check(
        "mint-EdDSA",
        "hsmjwt",
        "aws-lc-rs",
        0.95,
        "mint EdDSA vs raw aws-lc-rs signature",
    ),
    check(
        "mint-EdDSA",
        "hsmjwt",
        "jsonwebtoken-aws-lc-rs",
        1.0,
        "mint EdDSA vs jsonwebtoken (aws_lc_rs)",
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
        "hsm-RS256",
        "cryptoki-2t",
        "cryptoki-1t",
        0.0,
        "raw C_Sign loop RS256, 2 threads vs 1 thread: SoftHSM's own scaling, the ceiling of the row above (no target)",
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
    check(
        "hsm-ES256",
        "cryptoki-2t",
        "cryptoki-1t",
        0.0,
        "raw C_Sign loop ES256, 2 threads vs 1 thread: SoftHSM's own scaling, the ceiling of the row above (no target)",
    ),
    check(
        "hsm-kryoptic-ES256",
        "hsmjwt-1t",
        "cryptoki-1t",
        0.95,
        "Kryoptic mint ES256, 1 thread, vs raw C_Sign loop",
    ),
    check(
        "hsm-tpm2-ES256",
        "hsmjwt-1t",
        "cryptoki-1t",
        0.95,
        "tpm2-pkcs11 on swtpm mint ES256, 1 thread, vs raw C_Sign loop",
    ),
    check(
        "hsm-p11kit-ES256",
        "hsmjwt-1t",
        "cryptoki-1t",
        0.95,
        "p11-kit remoting mint ES256, 1 thread, vs raw C_Sign loop",
    ),
    check(
        "agent-token",
        "agent",
        "axum-constant",
        0.7,
        "agent: cached token over the Unix socket vs a constant axum handler on one",
    ),
    check(
        "agent-sign",
        "agent",
        "hsmjwt-bench",
        0.85,
        "agent: POST /v1/sign (SoftHSM RS256, one session, two clients) vs the same signature in-process, 1 thread",
    ),
    check(
        "agent-sign",
        "agent-1-client",
        "hsmjwt-bench",
        0.0,
        "agent: POST /v1/sign with one client, one request at a time (the key waits for each round trip) vs in-process, 1 thread (no target)",
    ),
];

/// Absolute limits: (group, benchmark, most nanoseconds, what).
const LIMITS: &[(&str, &str, f64, &str)] = &[
    ("cache", "hit-1t", 1000.0, "token cache hit, 1 thread"),
    ("cache", "hit-2t", 1000.0, "token cache hit, 2 threads"),
];

/// The median of one benchmark in nanoseconds, from criterion's `estimates.json`; `None`
/// when the file is missing, unreadable, or older than `since`.
pub(crate) fn median_ns(
    criterion: &Path,
    group: &str,
    bench: &str,
    since: SystemTime,
) -> Option<f64> {
    let path = criterion.join(group).join(bench).join("new/estimates.json");
    if !written_since(&path, since) {
        return None;
    }
    median_from_estimates(&std::fs::read_to_string(path).ok()?)
}

/// Whether `path` was last written at or after `since` (false when it is not there).
fn written_since(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

/// `median.point_estimate` of criterion's `estimates.json`.
fn median_from_estimates(text: &str) -> Option<f64> {
    let estimates: serde_json::Value = serde_json::from_str(text).ok()?;
    estimates.get("median")?.get("point_estimate")?.as_f64()
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

/// One comparison group's paired rounds, as `benches/common` `paired` writes them.
#[derive(Debug, serde::Deserialize)]
struct Paired {
    rounds: usize,
    block_ms: f64,
    contenders: Vec<PairedContender>,
}

/// One contender of a paired group: its operations per block and its time per operation
/// in every round (nanoseconds).
#[derive(Debug, serde::Deserialize)]
struct PairedContender {
    name: String,
    block: u64,
    ns_per_op: Vec<f64>,
}

impl Paired {
    /// Reads `{"rounds": R, "block_ms": B, "contenders": [{"name", "block", "ns_per_op":
    /// [R numbers]}, ...]}` (other members are ignored).
    fn parse(text: &str) -> Result<Paired> {
        let paired: Paired = serde_json::from_str(text)?;
        if paired.rounds == 0 {
            bail!("rounds: 0 is not a positive count");
        }
        for c in &paired.contenders {
            if c.ns_per_op.len() != paired.rounds {
                bail!(
                    "{}: {} times for {} rounds",
                    c.name,
                    c.ns_per_op.len(),
                    paired.rounds
                );
            }
            if let Some(bad) = c.ns_per_op.iter().find(|t| !(t.is_finite() && **t > 0.0)) {
                bail!("{}: time per operation {bad}", c.name);
            }
        }
        Ok(paired)
    }

    /// The per-round times of `name`.
    fn times(&self, name: &str) -> Option<&[f64]> {
        self.contenders
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.ns_per_op.as_slice())
    }
}

/// The paired rounds of `group` from `dir/GROUP.json`; `None` when the file is not there
/// or was written before `since` (by an earlier run).
///
/// # Errors
/// When the file is there but cannot be read or is not what the benches write.
fn load_paired(dir: &Path, group: &str, since: SystemTime) -> Result<Option<Paired>> {
    let path = dir.join(format!("{group}.json"));
    if path.exists() && !written_since(&path, since) {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Paired::parse(&text)
        .map(Some)
        .with_context(|| format!("{} is not a paired-rounds file", path.display()))
}

/// The ratio of every round: the reference's time per operation over ours (the speed of
/// ours over the reference's), sorted; `None` unless both have the same, non-zero number
/// of rounds.
fn round_ratios(reference: &[f64], ours: &[f64]) -> Option<Vec<f64>> {
    if reference.len() != ours.len() || ours.is_empty() {
        return None;
    }
    let mut ratios: Vec<f64> = reference.iter().zip(ours).map(|(r, o)| r / o).collect();
    ratios.sort_by(f64::total_cmp);
    Some(ratios)
}

/// The `q` quantile of sorted values, interpolating between neighbours: `q = 0.5` is the
/// median (the mean of the middle two for an even count).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The groups of `loaded` by (rounds, block length), for the report's header.
fn describe_rounds(loaded: &[(&str, Paired)]) -> String {
    let mut kinds: Vec<(usize, f64, Vec<&str>)> = Vec::new();
    for (group, p) in loaded {
        match kinds
            .iter_mut()
            .find(|(r, b, _)| *r == p.rounds && *b == p.block_ms)
        {
            Some((_, _, groups)) => groups.push(group),
            None => kinds.push((p.rounds, p.block_ms, vec![group])),
        }
    }
    if kinds.is_empty() {
        return "no paired rounds were found".to_owned();
    }
    kinds
        .iter()
        .map(|(rounds, block, groups)| {
            format!(
                "{rounds} rounds of ~{block} ms blocks in {}",
                groups.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The Markdown report: ratios from the paired rounds in `paired`, limits and times from
/// criterion's medians in `criterion`, of files written at or after `since` only.
fn report(
    criterion: &Path,
    paired: &Path,
    since: SystemTime,
    machine: &str,
    before: &str,
    after: &str,
) -> Result<String> {
    use std::fmt::Write as _;
    let mut loaded: Vec<(&str, Paired)> = Vec::new();
    for group in GROUPS {
        if let Some(p) = load_paired(paired, group, since)? {
            loaded.push((group, p));
        }
    }
    let rounds_of = |group: &str| loaded.iter().find(|(g, _)| *g == group).map(|(_, p)| p);

    let mut out = String::new();
    let mut failed = 0;
    writeln!(out, "# hsmjwt benchmark report\n")?;
    writeln!(
        out,
        "Machine: {machine}. Load average (1, 5, 15 min) before: {before}; after: {after}.\n"
    )?;
    writeln!(
        out,
        "Ratios are the speed of hsmjwt over the speed of the reference (> 1 is faster), from \
         paired rounds: after criterion, the contenders of each group run interleaved, one \
         block of operations each per round, the order rotating from round to round. The \
         ratio of a round is the reference's time per operation over ours in that round; \
         the measured ratio is the median of these per-round ratios, and the next column \
         gives their middle half (quartiles). Both sides of a ratio are measured within a \
         fraction of a second of each other, so load that comes and goes on the machine \
         weighs on both alike. Rounds: {}. The absolute limits (token cache) and the \
         table of times at the end are criterion's medians.\n",
        describe_rounds(&loaded)
    )?;
    writeln!(
        out,
        "| comparison | target | measured | middle half of rounds | result |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for c in CHECKS {
        let ratios =
            rounds_of(c.group).and_then(|p| round_ratios(p.times(c.reference)?, p.times(c.ours)?));
        let target = if c.at_least > 0.0 {
            format!("≥ {:.2}x", c.at_least)
        } else {
            "—".to_owned()
        };
        let (measured, spread, result) = match ratios {
            Some(ratios) => {
                let ratio = quantile(&ratios, 0.5);
                let result = if c.at_least <= 0.0 {
                    "info"
                } else if ratio >= c.at_least {
                    "pass"
                } else {
                    failed += 1;
                    "**FAIL**"
                };
                (
                    format!("{ratio:.2}x"),
                    format!(
                        "{:.2}–{:.2}x",
                        quantile(&ratios, 0.25),
                        quantile(&ratios, 0.75)
                    ),
                    result,
                )
            }
            None => {
                if c.at_least > 0.0 {
                    failed += 1;
                }
                ("missing".to_owned(), "—".to_owned(), "**not run**")
            }
        };
        writeln!(
            out,
            "| {} | {target} | {measured} | {spread} | {result} |",
            c.what
        )?;
    }
    for (group, bench, limit, what) in LIMITS {
        let (measured, result) = match median_ns(criterion, group, bench, since) {
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
            "| {what} (criterion median) | < {} | {measured} | — | {result} |",
            format_ns(*limit)
        )?;
    }
    writeln!(
        out,
        "\n{failed} of the targets missed or not run. (\"not run\": nothing was measured for \
         it in this run, because of a filter or a failure; results of earlier runs are not \
         used.)\n"
    )?;

    writeln!(
        out,
        "Paired medians (time per token or check, median over the rounds; ops/s in brackets):\n"
    )?;
    writeln!(out, "| group | contender | ops per block | median |")?;
    writeln!(out, "|---|---|---|---|")?;
    for (group, p) in &loaded {
        for c in &p.contenders {
            let mut sorted = c.ns_per_op.clone();
            sorted.sort_by(f64::total_cmp);
            let ns = quantile(&sorted, 0.5);
            writeln!(
                out,
                "| {group} | {} | {} | {} ({:.0}/s) |",
                c.name,
                c.block,
                format_ns(ns),
                1e9 / ns
            )?;
        }
    }

    writeln!(
        out,
        "\nCriterion medians (time per token or check; ops/s in brackets):\n"
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
            if let Some(ns) = median_ns(criterion, group, &bench, since) {
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
        assert_eq!(median_from_estimates(json), Some(17522.25));
        assert_eq!(
            median_from_estimates(r#"{"mean":{"point_estimate":1.5}}"#),
            None
        );
        assert_eq!(
            median_from_estimates(r#"{"median":{"point_estimate":1e3}}"#),
            Some(1000.0)
        );
        assert_eq!(median_from_estimates("not json"), None);
    }

    /// A paired file as serde_json's pretty printer writes it.
    const PAIRED_HSM: &str = r#"{
  "group": "hsm-ES256",
  "rounds": 3,
  "block_ms": 50,
  "contenders": [
    {
      "name": "hsmjwt-1t",
      "block": 1100,
      "median_ns": 46000.0,
      "ns_per_op": [
        46000.0,
        30000.0,
        59000.0
      ]
    },
    {
      "name": "cryptoki-1t",
      "block": 1120,
      "median_ns": 45600.0,
      "ns_per_op": [45540.0, 30900.0, 56050.0]
    },
    {"name": "hsmjwt-2t", "block": 2000, "median_ns": 25000.0, "ns_per_op": [25000.0, 15800.0, 30000.0]},
    {"name": "cryptoki-2t", "block": 2010, "median_ns": 24000.0, "ns_per_op": [2.4e4, 16.8e3, 30000]}
  ]
}"#;

    #[test]
    fn reads_paired_rounds() {
        let p = Paired::parse(PAIRED_HSM).unwrap();
        assert_eq!(p.rounds, 3);
        assert_eq!(p.block_ms, 50.0);
        let names: Vec<&str> = p.contenders.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["hsmjwt-1t", "cryptoki-1t", "hsmjwt-2t", "cryptoki-2t"]
        );
        assert_eq!(p.contenders[0].block, 1100);
        assert_eq!(p.times("hsmjwt-1t"), Some(&[46000.0, 30000.0, 59000.0][..]));
        assert_eq!(
            p.times("cryptoki-2t"),
            Some(&[24000.0, 16800.0, 30000.0][..])
        );
        assert_eq!(p.times("nobody"), None);
    }

    #[test]
    fn rejects_broken_paired_files() {
        for broken in [
            "",
            "{}",
            r#"{"rounds": 2, "block_ms": 30}"#,
            r#"{"rounds": 2, "block_ms": 30, "contenders": [{"name": "a", "block": 1, "ns_per_op": [1.0]}]}"#,
            r#"{"rounds": 1, "block_ms": 30, "contenders": [{"name": "a", "block": 1, "ns_per_op": [0]}]}"#,
            r#"{"rounds": 1, "block_ms": 30, "contenders": [{"name": "a", "block": 1, "ns_per_op": ["1"]}]}"#,
            r#"{"rounds": 0, "block_ms": 30, "contenders": []}"#,
            r#"{"rounds": 1, "block_ms": 30, "contenders": []} x"#,
            r#"{"rounds": 1, "block_ms": 30, "contenders": [}"#,
        ] {
            assert!(Paired::parse(broken).is_err(), "accepted: {broken}");
        }
    }

    #[test]
    fn median_of_round_ratios_odd_rounds() {
        // Round ratios 3, 1, 2 (reference time over ours): the median is 2.
        let ratios = round_ratios(&[30.0, 12.0, 20.0], &[10.0, 12.0, 10.0]).unwrap();
        assert_eq!(ratios, [1.0, 2.0, 3.0]);
        assert_eq!(quantile(&ratios, 0.5), 2.0);
        assert_eq!(quantile(&ratios, 0.25), 1.5);
        assert_eq!(quantile(&ratios, 0.75), 2.5);
    }

    #[test]
    fn median_of_round_ratios_even_rounds() {
        // Round ratios 4, 1, 3, 2: the median is the mean of the middle two.
        let ratios = round_ratios(&[40.0, 10.0, 30.0, 20.0], &[10.0; 4]).unwrap();
        assert_eq!(quantile(&ratios, 0.5), 2.5);
        assert_eq!(quantile(&ratios, 0.25), 1.75);
        assert_eq!(quantile(&ratios, 0.75), 3.25);
        assert_eq!(quantile(&[7.0], 0.5), 7.0);
    }

    #[test]
    fn median_of_round_ratios_ignores_a_slow_spell() {
        // The machine is twice as slow in the middle rounds: both sides slow down together
        // and every round says 1.05x, whatever the level.
        let ours = [10.0, 20.0, 20.0, 10.0, 20.0];
        let reference: Vec<f64> = ours.iter().map(|t| t * 1.05).collect();
        let ratios = round_ratios(&reference, &ours).unwrap();
        assert!((quantile(&ratios, 0.5) - 1.05).abs() < 1e-12);
    }

    #[test]
    fn round_ratios_need_matching_rounds() {
        assert_eq!(round_ratios(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(round_ratios(&[], &[]), None);
    }

    #[test]
    fn report_takes_ratios_from_paired_rounds() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-report-{}", std::process::id()));
        let paired = dir.join("bench-paired");
        std::fs::create_dir_all(&paired).unwrap();
        std::fs::write(paired.join("hsm-ES256.json"), PAIRED_HSM).unwrap();
        let criterion = dir.join("criterion");
        let since = SystemTime::UNIX_EPOCH;
        let text = report(&criterion, &paired, since, "test machine", "0", "0").unwrap();
        // Rounds 45540/46000, 30900/30000, 56050/59000: ratios 0.99, 1.03, 0.95.
        assert!(
            text.contains("| HSM mint ES256, 1 thread, vs raw C_Sign loop | ≥ 0.95x | 0.99x | 0.97–1.01x | pass |"),
            "{text}"
        );
        // hsmjwt 1t over 2t: 46000/25000, 30000/15800, 59000/30000 = 1.84, 1.90, 1.97.
        assert!(
            text.contains("| HSM mint ES256, 2 threads vs 1 thread | ≥ 1.70x | 1.90x |"),
            "{text}"
        );
        assert!(
            text.contains("3 rounds of ~50 ms blocks in hsm-ES256"),
            "{text}"
        );
        assert!(
            text.contains("| hsm-ES256 | cryptoki-1t | 1120 | 45.54 µs (21959/s) |"),
            "{text}"
        );
        // No paired file: not run, never a fallback.
        assert!(
            text.contains(
                "| mint ES256 vs raw aws-lc-rs signature | ≥ 0.95x | missing | — | **not run** |"
            ),
            "{text}"
        );
        // Files of an earlier run are not reported.
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        let text = report(&criterion, &paired, later, "test machine", "0", "0").unwrap();
        assert!(
            text.contains("| HSM mint ES256, 1 thread, vs raw C_Sign loop | ≥ 0.95x | missing | — | **not run** |"),
            "{text}"
        );
        assert!(!text.contains("cryptoki-1t"), "{text}");
        let estimates = criterion.join("cache/hit-1t/new");
        std::fs::create_dir_all(&estimates).unwrap();
        std::fs::write(
            estimates.join("estimates.json"),
            r#"{"median": {"point_estimate": 61.5}}"#,
        )
        .unwrap();
        assert_eq!(median_ns(&criterion, "cache", "hit-1t", since), Some(61.5));
        assert_eq!(median_ns(&criterion, "cache", "hit-1t", later), None);
        // A broken file is an error, not a missing group.
        std::fs::write(paired.join("parse.json"), "{\"rounds\": 1").unwrap();
        assert!(report(&criterion, &paired, since, "test machine", "0", "0").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
