//! A timing server for `benches/mint.rs`: mints JWTs with `jsonwebtoken` and its
//! `rust_crypto` backend (RustCrypto's `rsa` and `p256`), in a process of its own because
//! jsonwebtoken takes exactly one backend feature per build and the main workspace uses
//! `aws_lc_rs`.
//!
//! The benchmark starts this binary once and drives it over stdin/stdout, one line each:
//!
//! - `key ALG HEX` sets the key for `ALG` (RS256, PS256: PKCS#1 DER; ES256: PKCS#8 DER)
//! - `claims JSON` sets the claims to mint
//! - `mint ALG N` mints N tokens and answers the nanoseconds they took (timed here, so
//!   the pipe costs nothing to the measurement: criterion's `iter_custom`)
//! - `token ALG` answers one token, for the benchmark to check it verifies
//!
//! Answers are `ok`, a number or a token, or `error: ...`. At start it installs the
//! `rust_crypto` provider as the process default and answers `ready rust_crypto`: that
//! install fails if any other provider were in use.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::Instant;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

fn alg(name: &str) -> Result<Algorithm, String> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "PS256" => Ok(Algorithm::PS256),
        "ES256" => Ok(Algorithm::ES256),
        other => Err(format!("unsupported algorithm {other}")),
    }
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() % 2 != 0 {
        return Err("odd hex length".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

struct State {
    keys: HashMap<String, EncodingKey>,
    claims: serde_json::Value,
}

impl State {
    fn mint(&self, name: &str) -> Result<String, String> {
        let algorithm = alg(name)?;
        let key = self.keys.get(name).ok_or("no key for this algorithm")?;
        let mut header = Header::new(algorithm);
        header.typ = Some("JWT".into());
        encode(&header, &self.claims, key).map_err(|e| e.to_string())
    }

    fn handle(&mut self, line: &str) -> Result<String, String> {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("key"), Some(name), Some(hex)) => {
                let der = unhex(hex.trim())?;
                let key = match alg(name)? {
                    Algorithm::ES256 => EncodingKey::from_ec_der(&der),
                    _ => EncodingKey::from_rsa_der(&der),
                };
                self.keys.insert(name.to_owned(), key);
                Ok("ok".into())
            }
            (Some("claims"), Some(first), rest) => {
                let json = match rest {
                    Some(rest) => format!("{first} {rest}"),
                    None => first.to_owned(),
                };
                self.claims = serde_json::from_str(&json).map_err(|e| e.to_string())?;
                Ok("ok".into())
            }
            (Some("mint"), Some(name), Some(n)) => {
                let n: u64 = n.trim().parse().map_err(|_| "bad count")?;
                let start = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(self.mint(name)?);
                }
                Ok(start.elapsed().as_nanos().to_string())
            }
            (Some("token"), Some(name), None) => self.mint(name),
            _ => Err(format!("unknown request `{line}`")),
        }
    }
}

fn main() -> std::process::ExitCode {
    if jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
        .install_default()
        .is_err()
    {
        eprintln!("jwt-rust-crypto: another CryptoProvider is already installed");
        return std::process::ExitCode::FAILURE;
    }
    let mut state = State {
        keys: HashMap::new(),
        claims: serde_json::Value::Null,
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "ready rust_crypto")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return std::process::ExitCode::FAILURE;
    }
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = state
            .handle(line.trim_end())
            .unwrap_or_else(|e| format!("error: {e}"));
        if writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}
