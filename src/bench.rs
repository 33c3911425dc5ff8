//! Throughput of a signer: how many tokens per second it mints, from how many threads,
//! at what latency. The library side of `hsmjwt bench` (like `openssl speed`, for JWTs).
//!
//! [`run`] mints complete tokens ([`crate::encode`]: serialise, base64url, sign) with one
//! signer from several threads for a fixed time and returns [`BenchStats`]: the count, the
//! rate and latency percentiles. With an HSM key the signer's session pool should have at
//! least as many sessions as there are threads: open it with
//! [`KeySource::open`](crate::key::KeySource::open) with
//! [`OpenOptions::pool_size`](crate::key::OpenOptions::pool_size).
//!
//! ```
//! use std::time::Duration;
//! use hsmjwt::bench::{BenchOptions, run};
//! use hsmjwt::soft::{KeySpec, PrivateKey, SoftSigner};
//! use hsmjwt::{Algorithm, Claims, Header};
//!
//! let signer = SoftSigner::new(PrivateKey::generate(KeySpec::P256)?, None)?;
//! let options = BenchOptions::new()
//!     .with_threads(2)
//!     .with_duration(Duration::from_millis(200));
//! let stats = run(&signer, &Header::jwt(Algorithm::ES256), &Claims::new(), &options)?;
//! assert!(stats.tokens > 0);
//! println!("{:.0} tokens/s, p99 {:?}", stats.tokens_per_second, stats.p99);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hsmjwt_core::text::Chain;
use hsmjwt_core::{Claims, Error, Header, Signer};

/// How long and from how many threads [`run`] mints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BenchOptions {
    /// Threads minting at once (at least 1).
    pub threads: usize,
    /// How long the timed part lasts.
    pub duration: Duration,
}

impl Default for BenchOptions {
    /// One thread for five seconds.
    fn default() -> Self {
        BenchOptions {
            threads: 1,
            duration: Duration::from_secs(5),
        }
    }
}

impl BenchOptions {
    /// One thread for five seconds.
    pub fn new() -> Self {
        BenchOptions::default()
    }

    /// Sets the number of threads (0 counts as 1).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets how long to mint.
    #[must_use]
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }
}

/// What [`run`] measured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BenchStats {
    /// Threads that minted.
    pub threads: usize,
    /// Tokens minted in the timed part.
    pub tokens: u64,
    /// Wall-clock time of the timed part (from the start until the last thread finished
    /// its last token).
    pub elapsed: Duration,
    /// `tokens / elapsed`, all threads together.
    pub tokens_per_second: f64,
    /// Median time to mint one token.
    pub p50: Duration,
    /// 99th percentile of the time to mint one token.
    pub p99: Duration,
    /// Fastest token.
    pub min: Duration,
    /// Slowest token.
    pub max: Duration,
    /// Mean time to mint one token.
    pub mean: Duration,
    /// Tokens that failed in the timed part (each thread goes on after a failure, as a
    /// load generator does; failures are not in the latencies).
    pub errors: u64,
    /// The first failure of the timed part, cleaned for printing.
    pub first_error: Option<String>,
}

/// Mints `header` + `claims` with `signer` from `options.threads` threads for
/// `options.duration`, and returns the rate, the latencies and the failures.
///
/// One token is minted first, untimed, so that a broken key fails at once and lazy set-up
/// (an HSM session, a login) is not counted. Each thread then mints until the time is up;
/// every token's latency is recorded (8 bytes each). The token bytes are discarded. A token
/// that fails in the timed part is counted in [`BenchStats::errors`] (the first failure
/// kept) and the thread goes on, as a load generator does: an HSM that fails now and then,
/// or goes away and comes back, is measured, not aborted.
///
/// # Errors
/// The error of the first, untimed token.
pub fn run(
    signer: &dyn Signer,
    header: &Header,
    claims: &Claims,
    options: &BenchOptions,
) -> Result<BenchStats, Error> {
    crate::encode(header, claims, signer)?;
    let threads = options.threads.max(1);
    let start = Instant::now();
    let deadline = start + options.duration;
    let first_error = Mutex::new(None::<String>);
    let results: Vec<(Vec<u64>, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let first_error = &first_error;
                s.spawn(move || {
                    let mut latencies = Vec::with_capacity(1024);
                    let mut errors = 0u64;
                    loop {
                        let t = Instant::now();
                        if t >= deadline {
                            return (latencies, errors);
                        }
                        match crate::encode(header, claims, signer) {
                            Ok(_) => {
                                let nanos = t.elapsed().as_nanos();
                                latencies.push(u64::try_from(nanos).unwrap_or(u64::MAX));
                            }
                            Err(e) => {
                                errors = errors.saturating_add(1);
                                let mut first =
                                    first_error.lock().unwrap_or_else(PoisonError::into_inner);
                                if first.is_none() {
                                    *first = Some(Chain(&e).to_string());
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut all = Vec::new();
    let mut errors = 0u64;
    for (latencies, failed) in results {
        all.extend(latencies);
        errors = errors.saturating_add(failed);
    }
    let mut stats = stats(threads, elapsed, all);
    stats.errors = errors;
    stats.first_error = first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    Ok(stats)
}

/// Summarises per-token latencies in nanoseconds.
fn stats(threads: usize, elapsed: Duration, mut nanos: Vec<u64>) -> BenchStats {
    nanos.sort_unstable();
    let tokens = u64::try_from(nanos.len()).unwrap_or(u64::MAX);
    let at = |q: f64| -> Duration {
        if nanos.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank: the smallest value with at least q of the samples at or below it.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let rank = ((q * nanos.len() as f64).ceil() as usize).clamp(1, nanos.len());
        Duration::from_nanos(nanos[rank - 1])
    };
    let sum: u128 = nanos.iter().map(|&n| u128::from(n)).sum();
    let mean = match u128::try_from(nanos.len()) {
        Ok(n) if n > 0 => Duration::from_nanos(u64::try_from(sum / n).unwrap_or(u64::MAX)),
        _ => Duration::ZERO,
    };
    let secs = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let tokens_per_second = if secs > 0.0 {
        tokens as f64 / secs
    } else {
        0.0
    };
    BenchStats {
        threads,
        tokens,
        elapsed,
        tokens_per_second,
        p50: at(0.50),
        p99: at(0.99),
        min: nanos
            .first()
            .map_or(Duration::ZERO, |&n| Duration::from_nanos(n)),
        max: nanos
            .last()
            .map_or(Duration::ZERO, |&n| Duration::from_nanos(n)),
        mean,
        errors: 0,
        first_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let s = stats(2, Duration::from_secs(2), (1..=100).rev().collect());
        assert_eq!(s.tokens, 100);
        assert!((s.tokens_per_second - 50.0).abs() < 1e-9);
        assert_eq!(s.p50, Duration::from_nanos(50));
        assert_eq!(s.p99, Duration::from_nanos(99));
        assert_eq!(s.min, Duration::from_nanos(1));
        assert_eq!(s.max, Duration::from_nanos(100));
        assert_eq!(s.mean, Duration::from_nanos(50));
        let empty = stats(1, Duration::ZERO, Vec::new());
        assert_eq!((empty.tokens, empty.p99), (0, Duration::ZERO));
    }

    /// A signer whose every third signature after the first fails.
    struct Flaky {
        inner: hsmjwt_core::Jwk,
        calls: std::sync::atomic::AtomicU64,
    }

    impl Signer for Flaky {
        fn algorithm(&self) -> hsmjwt_core::Algorithm {
            hsmjwt_core::Algorithm::ES256
        }
        fn key_id(&self) -> Option<&str> {
            None
        }
        fn public_key(&self) -> &hsmjwt_core::Jwk {
            &self.inner
        }
        fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, Error> {
            let n = self
                .calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n > 0 && n.is_multiple_of(3) {
                return Err(Error::sign(std::io::Error::other("device error\nforged")));
            }
            Ok(vec![0; 64])
        }
    }

    #[test]
    fn failures_are_counted_and_the_threads_go_on() {
        let jwk = hsmjwt_core::Jwk::new(hsmjwt_core::PublicKeyParams::Ec {
            crv: hsmjwt_core::Curve::P256,
            x: vec![1; 32],
            y: vec![2; 32],
        });
        let flaky = Flaky {
            inner: jwk,
            calls: std::sync::atomic::AtomicU64::new(0),
        };
        let options = BenchOptions::new()
            .with_threads(3)
            .with_duration(Duration::from_millis(200));
        let s = run(
            &flaky,
            &Header::jwt(hsmjwt_core::Algorithm::ES256),
            &Claims::new().with_issuer("bench"),
            &options,
        )
        .unwrap();
        let calls = flaky.calls.load(std::sync::atomic::Ordering::Relaxed);
        assert!(s.errors > 0 && s.tokens > s.errors, "{s:?}");
        assert_eq!(
            s.tokens + s.errors + 1,
            calls,
            "every call is a token or an error"
        );
        let first = s.first_error.unwrap();
        assert!(
            first.contains("device error") && !first.contains('\n'),
            "{first}"
        );
    }
}
