//! Shared fixtures of the benchmarks: keys, claims, criterion settings, the
//! `jsonwebtoken` `rust_crypto` helper process, and [`paired`] measurements.
//!
//! Benchmark ids are `GROUP/FUNCTION`; each group holds hsmjwt and the references it is
//! compared with. Criterion measures the functions of a group one after the other (all
//! samples of one, then all of the next), so a change in the machine's load between them
//! (this is a shared VM) shows up as a difference between them. The ratios of
//! `cargo xtask bench` therefore come from [`paired`], which runs after the criterion
//! functions of each comparison group and measures the same contenders interleaved: in
//! each round every contender runs one block of operations, so the two sides of a ratio
//! are measured a fraction of a second apart, round after round. Criterion's medians
//! (`target/criterion/GROUP/FUNCTION/new/estimates.json`) stay for the absolute limits and
//! the table of times.

#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use hsmjwt::soft::{KeySpec, PrivateKey};
use hsmjwt::{Claims, NumericDate};
use hsmjwt_testkit::der;

/// Issuer, subject and audience of the benchmark tokens (an Adobe service-account JWT).
pub const ISS: &str = "12345678ABCDEF0123456789@AdobeOrg";
pub const SUB: &str = "ABCDEF0123456789ABCDEF01@techacct.adobe.com";
pub const AUD: &str = "https://ims-na1.adobelogin.com/c/0123456789abcdef0123456789abcdef";

/// Criterion settings for the whole run: short warm-up and measurement, enough samples
/// for a stable median. `cargo xtask bench` keeps the full run within minutes.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args()
}

/// The claims of a typical token: an Adobe service-account JWT, valid for an hour from
/// now, with a `jti` and one metascope.
pub fn claims() -> Claims {
    Claims::new()
        .with_issuer(ISS)
        .with_subject(SUB)
        .with_audience(AUD)
        .with_lifetime(NumericDate::now(), Duration::from_secs(3600))
        .with_jwt_id("6f1c1a3e-8a4b-4f7e-9a55-2b7c0e4d9f10")
        .with_claim(
            "https://ims-na1.adobelogin.com/s/ent_aem_cloud_api",
            serde_json::Value::Bool(true),
        )
        .expect("a custom claim")
}

/// The same claims as a JSON value, for `jsonwebtoken`.
pub fn claims_json(claims: &Claims) -> serde_json::Value {
    serde_json::from_slice(&claims.to_json().expect("claims serialise")).expect("claims JSON")
}

/// A freshly generated key with its PKCS#8 DER.
pub struct Key {
    pub private: PrivateKey,
    pub pkcs8: Vec<u8>,
}

impl Key {
    pub fn generate(spec: KeySpec) -> Key {
        let private = PrivateKey::generate(spec).expect("key generation");
        let pem = private.to_pkcs8_pem().expect("PKCS#8 PEM");
        let pkcs8 = der::pem_der(&pem, "PRIVATE KEY").expect("PKCS#8 DER");
        Key { private, pkcs8 }
    }

    /// The PKCS#1 `RSAPrivateKey` inside the PKCS#8 `PrivateKeyInfo` (what jsonwebtoken's
    /// `EncodingKey::from_rsa_der` takes).
    pub fn pkcs1(&self) -> Vec<u8> {
        der::pkcs1_from_pkcs8(&self.pkcs8).expect("PKCS#1 inside PKCS#8")
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki(&self) -> Vec<u8> {
        self.private.public_key().to_spki_der()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `jsonwebtoken` + `rust_crypto` helper (benches/jwt-rust-crypto), running in its
/// own process; see its `src/main.rs` for the protocol.
pub struct RustCrypto {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The environment variable naming the helper binary; `cargo xtask bench` builds it and
/// sets it.
pub const RUST_CRYPTO_ENV: &str = "HSMJWT_BENCH_RUST_CRYPTO";

impl RustCrypto {
    /// Starts the helper named by `$HSMJWT_BENCH_RUST_CRYPTO`, or says why not and returns
    /// `None` (`cargo xtask bench` always sets it; `HSMJWT_BENCH_REQUIRE=1` makes its
    /// absence fatal).
    pub fn start() -> Option<RustCrypto> {
        let Some(path) = std::env::var_os(RUST_CRYPTO_ENV).filter(|p| !p.is_empty()) else {
            let msg = format!(
                "{RUST_CRYPTO_ENV} is not set: the jsonwebtoken rust_crypto reference is skipped \
                 (`cargo xtask bench` builds benches/jwt-rust-crypto and sets it)"
            );
            assert!(!required(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            return None;
        };
        let mut child = Command::new(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.to_string_lossy()));
        let stdin = child.stdin.take().expect("helper stdin");
        let stdout = BufReader::new(child.stdout.take().expect("helper stdout"));
        let mut helper = RustCrypto {
            child,
            stdin,
            stdout,
        };
        let ready = helper.read_line();
        assert_eq!(ready, "ready rust_crypto", "unexpected helper greeting");
        Some(helper)
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("helper answer");
        line.trim_end().to_owned()
    }

    fn request(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("helper request");
        self.stdin.flush().expect("helper request");
        let answer = self.read_line();
        assert!(
            !answer.starts_with("error") && !answer.is_empty(),
            "helper: {answer}"
        );
        answer
    }

    /// Sets the key for `alg` (PKCS#1 DER for RSA, PKCS#8 DER for EC).
    pub fn set_key(&mut self, alg: &str, der: &[u8]) {
        self.request(&format!("key {alg} {}", hex(der)));
    }

    /// Sets the claims to mint.
    pub fn set_claims(&mut self, claims: &serde_json::Value) {
        self.request(&format!("claims {claims}"));
    }

    /// Mints `n` tokens in the helper; the time they took there.
    pub fn mint(&mut self, alg: &str, n: u64) -> Duration {
        let nanos: u64 = self
            .request(&format!("mint {alg} {n}"))
            .parse()
            .expect("nanoseconds");
        Duration::from_nanos(nanos)
    }

    /// One token minted by the helper.
    pub fn token(&mut self, alg: &str) -> String {
        self.request(&format!("token {alg}"))
    }
}

impl Drop for RustCrypto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether every reference must run (set by `cargo xtask bench` and `cargo xtask ci`).
pub fn required() -> bool {
    std::env::var("HSMJWT_BENCH_REQUIRE").is_ok_and(|v| v == "1")
}

/// The key bits inside a SubjectPublicKeyInfo: PKCS#1 `RSAPublicKey` for RSA, the
/// uncompressed point for EC (what jsonwebtoken's `DecodingKey::from_*_der` take).
pub fn spki_key_bits(spki: &[u8]) -> Vec<u8> {
    der::spki_key_bits(spki).expect("key bits inside SubjectPublicKeyInfo")
}

/// One contender of a [`paired`] measurement: its name (the criterion function's) and a
/// closure that runs `n` operations and returns the time they took, the shape of
/// criterion's `iter_custom`.
pub type Contender<'a> = (&'static str, Box<dyn FnMut(u64) -> Duration + 'a>);

/// The length of a [`paired`] pass: how long one block of operations should take, and
/// how many rounds are measured (after one warm-up round).
#[derive(Clone, Copy, Debug)]
pub struct PairedPlan {
    pub block: Duration,
    pub rounds: usize,
}

/// The software groups (µs-scale operations): 31 rounds of 30 ms blocks, a few seconds.
pub const PAIRED: PairedPlan = PairedPlan {
    block: Duration::from_millis(30),
    rounds: 31,
};

/// The SoftHSM groups, whose timings jump the most: 41 rounds of 50 ms blocks, about
/// 8 s for four contenders.
pub const PAIRED_HSM: PairedPlan = PairedPlan {
    block: Duration::from_millis(50),
    rounds: 41,
};

/// The environment variable naming the directory [`paired`] writes `GROUP.json` into;
/// `cargo xtask bench` sets it to `TARGET/bench-paired`.
pub const PAIRED_DIR_ENV: &str = "HSMJWT_BENCH_PAIRED_DIR";

/// `op` as a contender closure: `n` calls timed together, each result passed through
/// `black_box`, as criterion's `Bencher::iter` does.
pub fn timed<O>(mut op: impl FnMut() -> O) -> impl FnMut(u64) -> Duration {
    move |n| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(op());
        }
        start.elapsed()
    }
}

/// [`paired_with`] the plan of the software groups, [`PAIRED`].
pub fn paired(group: &str, contenders: Vec<Contender<'_>>) {
    paired_with(group, PAIRED, contenders);
}

/// Measures the contenders of `group` interleaved, for ratios that time-varying load
/// cannot bias.
///
/// Each contender gets a block size from a short timed run, so that a block takes about
/// `plan.block`; one warm-up round follows, then `plan.rounds` rounds in which every
/// contender runs one block, round `r` starting with contender `r mod k` so that none
/// always runs first. The time per operation of every contender in every round goes to
/// `$HSMJWT_BENCH_PAIRED_DIR/GROUP.json` when that variable is set (a summary is
/// printed in any case):
///
/// ```json
/// {"group": "hsm-ES256", "rounds": 41, "block_ms": 50,
///  "contenders": [{"name": "hsmjwt-1t", "block": 1100, "median_ns": 45612.3,
///                  "ns_per_op": [45873.1, ...]}, ...]}
/// ```
///
/// In criterion's test mode (`cargo bench -- --test`, or `cargo test --benches`) each
/// contender runs one operation and nothing is written; with `--list` or
/// `--profile-time` nothing runs. With a filter argument, only groups whose name
/// contains it (as plain text, not criterion's regular expression) run.
pub fn paired_with(group: &str, plan: PairedPlan, mut contenders: Vec<Contender<'_>>) {
    assert!(contenders.len() >= 2, "a paired group needs two contenders");
    let args = BenchArgs::from_env();
    if args.filter.as_deref().is_some_and(|f| !group.contains(f)) {
        return;
    }
    match args.mode {
        Mode::Skip => return,
        Mode::Test => {
            for (name, run) in &mut contenders {
                run(1);
                println!("Testing paired {group}/{name}\nSuccess");
            }
            println!();
            return;
        }
        Mode::Bench => {}
    }

    let start = Instant::now();
    let k = contenders.len();
    let blocks: Vec<u64> = contenders
        .iter_mut()
        .map(|(_, run)| block_size(run, plan.block))
        .collect();
    for ((_, run), &block) in contenders.iter_mut().zip(&blocks) {
        run(block);
    }
    let mut ns_per_op = vec![Vec::with_capacity(plan.rounds); k];
    for round in 0..plan.rounds {
        for j in 0..k {
            let i = (round + j) % k;
            let elapsed = (contenders[i].1)(blocks[i]);
            ns_per_op[i].push(elapsed.as_nanos() as f64 / blocks[i] as f64);
        }
    }

    println!(
        "paired {group}: {} rounds of ~{:?} blocks in {:.1?}",
        plan.rounds,
        plan.block,
        start.elapsed()
    );
    let mut entries = Vec::with_capacity(k);
    for (((name, _), block), times) in contenders.iter().zip(&blocks).zip(&ns_per_op) {
        let median_ns = median(times);
        println!("  {name:<26} median {median_ns:>12.1} ns/op (block {block})");
        entries.push(serde_json::json!({
            "name": name,
            "block": block,
            "median_ns": median_ns,
            "ns_per_op": times,
        }));
    }
    let Some(dir) = std::env::var_os(PAIRED_DIR_ENV).filter(|d| !d.is_empty()) else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let json = serde_json::json!({
        "group": group,
        "rounds": plan.rounds,
        "block_ms": plan.block.as_millis(),
        "contenders": entries,
    });
    let path = dir.join(format!("{group}.json"));
    let text = serde_json::to_string_pretty(&json).expect("JSON of numbers and names");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// How many operations make a block of about `block`: timed runs of growing size until
/// one takes a fifth of it, then scaled.
fn block_size(run: &mut dyn FnMut(u64) -> Duration, block: Duration) -> u64 {
    let probe = block / 5;
    let mut n: u64 = 1;
    loop {
        let elapsed = run(n);
        if elapsed >= probe || n >= 1 << 32 {
            let per_op = (elapsed.as_secs_f64() / n as f64).max(1e-9);
            return ((block.as_secs_f64() / per_op).round() as u64).max(1);
        }
        // Aim at the probe time: at least twice, at most a hundred times as many.
        let grow = if elapsed.is_zero() {
            100.0
        } else {
            1.2 * probe.as_secs_f64() / elapsed.as_secs_f64()
        };
        n = (n as f64 * grow.clamp(2.0, 100.0)) as u64;
    }
}

/// The median (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// What the bench binary was asked to do, read from its arguments the way criterion
/// reads them.
struct BenchArgs {
    mode: Mode,
    filter: Option<String>,
}

enum Mode {
    Bench,
    Test,
    Skip,
}

/// Criterion's options that take a value (the value is not the filter).
const VALUE_OPTIONS: [&str; 17] = [
    "color",
    "colour",
    "save-baseline",
    "baseline",
    "baseline-lenient",
    "format",
    "profile-time",
    "load-baseline",
    "sample-size",
    "warm-up-time",
    "measurement-time",
    "nresamples",
    "noise-threshold",
    "confidence-level",
    "significance-level",
    "plotting-backend",
    "output-format",
];

impl BenchArgs {
    fn from_env() -> BenchArgs {
        let (mut bench, mut test, mut skip) = (false, false, false);
        let mut filter = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if let Some(long) = arg.strip_prefix("--") {
                let (name, value) = long
                    .split_once('=')
                    .map_or((long, None), |(n, v)| (n, Some(v)));
                match name {
                    "bench" => bench = true,
                    "test" => test = true,
                    "list" | "profile-time" | "ignored" => skip = true,
                    _ => {}
                }
                if value.is_none() && VALUE_OPTIONS.contains(&name) {
                    args.next();
                }
            } else if arg.len() == 2 && arg.starts_with('-') {
                // -c, -s, -b take a value; -v, -n do not.
                if matches!(&arg[1..], "c" | "s" | "b") {
                    args.next();
                }
            } else if filter.is_none() {
                filter = Some(arg);
            }
        }
        // Criterion: `--bench` without `--test` benchmarks; anything else tests.
        let mode = if skip {
            Mode::Skip
        } else if bench && !test {
            Mode::Bench
        } else {
            Mode::Test
        };
        BenchArgs { mode, filter }
    }
}
