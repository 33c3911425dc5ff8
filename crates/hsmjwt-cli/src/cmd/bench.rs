//! `hsmjwt bench`: how many tokens per second a key mints (like `openssl speed`).
//!
//! The timed loop is `hsmjwt::bench::run`; this module parses the arguments and prints.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use hsmjwt::bench::{BenchOptions, BenchStats};
use hsmjwt::key::OpenOptions;
use hsmjwt::{Algorithm, Claims, Header, NumericDate};

use crate::args::AlgArg;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The signing key: file or pkcs11: URI.
    #[arg(long)]
    pub key: String,
    /// Algorithm (default: RS256 for RSA keys, ES256/ES384/ES512 by curve, EdDSA for
    /// Ed25519); any case.
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: Option<AlgArg>,
    /// Threads minting at once, 1 to 1024 (an HSM key gets as many sessions).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// How long to mint, in seconds (fractions allowed; at most a day).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The claims of each token: a typical short-lived client assertion.
fn claims() -> Claims {
    Claims::new()
        .with_issuer("hsmjwt-bench")
        .with_subject("hsmjwt-bench")
        .with_audience("https://as.example/token")
        .with_lifetime(NumericDate::now(), Duration::from_secs(300))
        .with_jwt_id("00000000-0000-4000-8000-000000000000")
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub(crate) fn run(a: &BenchArgs) -> Result<ExitCode> {
    if a.threads == 0 || a.threads > 1024 {
        bail!("--threads must be between 1 and 1024");
    }
    if !(a.seconds.is_finite() && a.seconds > 0.0 && a.seconds <= 86_400.0) {
        bail!("--seconds must be a positive number of seconds, at most one day");
    }
    // An HSM key gets as many sessions as there are threads, so that none waits for another.
    let open = OpenOptions {
        algorithm: a.alg.map(Algorithm::from),
        pool_size: Some(a.threads),
        ..OpenOptions::default()
    };
    let source = super::key_source(&a.key)?;
    let signer = source
        .open(&open)
        .with_context(|| format!("cannot open {source}"))?;
    let alg = signer.algorithm();
    let options = BenchOptions::new()
        .with_threads(a.threads)
        .with_duration(Duration::from_secs_f64(a.seconds));
    if !a.json {
        eprintln!(
            "minting {alg} tokens with {source} for {}s on {} thread(s)...",
            a.seconds, a.threads
        );
    }
    let stats = hsmjwt::bench::run(&signer, &Header::jwt(alg), &claims(), &options)?;
    // A load generator goes on through failures; it fails only when nothing succeeded.
    if stats.tokens == 0 && stats.errors > 0 {
        bail!(
            "no token was minted: {} failures, the first: {}",
            stats.errors,
            stats.first_error.as_deref().unwrap_or("unknown")
        );
    }
    if a.json {
        super::out_json(&json(alg, &stats))?;
    } else {
        print_text(alg, &stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn json(alg: Algorithm, s: &BenchStats) -> serde_json::Value {
    serde_json::json!({
        "alg": alg.as_str(),
        "threads": s.threads,
        "seconds": s.elapsed.as_secs_f64(),
        "tokens": s.tokens,
        "tokens_per_second": s.tokens_per_second,
        "errors": s.errors,
        "first_error": s.first_error,
        "latency_us": {
            "p50": micros(s.p50),
            "p99": micros(s.p99),
            "min": micros(s.min),
            "max": micros(s.max),
            "mean": micros(s.mean),
        },
    })
}

fn print_text(alg: Algorithm, s: &BenchStats) -> Result<()> {
    if s.errors > 0 {
        super::out(&format!(
            "{} tokens failed; the first: {}",
            s.errors,
            s.first_error.as_deref().unwrap_or("unknown")
        ))?;
    }
    super::out(&format!(
        "{alg}: {} tokens in {:.2}s on {} thread(s): {:.1} tokens/s; latency p50 {:.1} µs, p99 {:.1} µs (min {:.1}, max {:.1}, mean {:.1})",
        s.tokens,
        s.elapsed.as_secs_f64(),
        s.threads,
        s.tokens_per_second,
        micros(s.p50),
        micros(s.p99),
        micros(s.min),
        micros(s.max),
        micros(s.mean),
    ))
}
