//! Shared fixtures of the benchmarks: keys, claims, criterion settings and the
//! `jsonwebtoken` `rust_crypto` helper process.
//!
//! Benchmark ids are `GROUP/FUNCTION`; `cargo xtask bench` reads the medians from
//! `target/criterion/GROUP/FUNCTION/new/estimates.json` and divides them, so each group
//! holds hsmjwt and the references it is compared with, measured in the same run.

#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::Criterion;
use hsmjwt::soft::{KeySpec, PrivateKey};
use hsmjwt::{Claims, NumericDate};

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
        let pkcs8 = pem_body(&pem, "PRIVATE KEY");
        Key { private, pkcs8 }
    }

    /// The PKCS#1 `RSAPrivateKey` inside the PKCS#8 `PrivateKeyInfo` (what jsonwebtoken's
    /// `EncodingKey::from_rsa_der` takes).
    pub fn pkcs1(&self) -> Vec<u8> {
        // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }
        let (_, info, _) = tlv(&self.pkcs8);
        let (_, _, rest) = tlv(info);
        let (_, _, rest) = tlv(rest);
        let (tag, key, _) = tlv(rest);
        assert_eq!(tag, 0x04, "OCTET STRING expected");
        key.to_vec()
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki(&self) -> Vec<u8> {
        self.private.public_key().to_spki_der()
    }
}

/// The DER inside a single-block PEM.
pub fn pem_body(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body: String = pem
        .lines()
        .skip_while(|l| *l != begin)
        .skip(1)
        .take_while(|l| *l != end)
        .collect();
    STANDARD.decode(body).expect("PEM base64")
}

/// One DER TLV: (tag, content, rest).
pub fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => ((usize::from(der[2]) << 8) | usize::from(der[3]), 4),
        other => panic!("unexpected DER length byte {other:#x}"),
    };
    (tag, &der[header..header + len], &der[header + len..])
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
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE, subjectPublicKey BIT STRING }
    let (_, info, _) = tlv(spki);
    let (_, _, rest) = tlv(info);
    let (tag, bits, _) = tlv(rest);
    assert_eq!(tag, 0x03, "BIT STRING expected");
    bits[1..].to_vec()
}
