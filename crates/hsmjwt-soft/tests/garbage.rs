//! No input bytes make the parsers panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt_soft::{KeySpec, PrivateKey, PublicKey, load_certificate_chain};
use proptest::prelude::*;

fn seeds() -> Vec<Vec<u8>> {
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let spki = key.public_key().to_spki_der();
    vec![
        pem.as_bytes().to_vec(),
        key.public_key().to_spki_pem().into_bytes(),
        spki,
        serde_json::to_vec(&key.public_jwk()).unwrap(),
    ]
}

fn check(bytes: &[u8]) {
    let _ = PrivateKey::from_bytes(bytes);
    let _ = PublicKey::from_bytes(bytes);
    let _ = PrivateKey::from_der(bytes);
    let _ = PublicKey::from_der(bytes);
    let _ = PublicKey::from_certificate_der(bytes);
    let _ = load_certificate_chain(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = PrivateKey::from_pem(text);
        let _ = PublicKey::from_pem(text);
    }
    let _ = PrivateKey::from_jwk(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&bytes);
    }

    #[test]
    fn mutated_keys_never_panic(which in 0usize..4, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let seeds = seeds_cached();
        let mut bytes = seeds[which % seeds.len()].clone();
        for (pos, value) in edits {
            let len = bytes.len();
            bytes[pos % len] = value;
        }
        check(&bytes);
        let cut = cut % (bytes.len() + 1);
        check(&bytes[..cut]);
    }

    #[test]
    fn der_shaped_bytes_never_panic(tag in prop::sample::select(vec![0x30u8, 0x02, 0x03, 0x04, 0x06, 0xa0, 0xa1]), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = vec![0x30, 0x82, 0x01, 0x00, tag];
        bytes.extend_from_slice(&body);
        check(&bytes);
    }

    #[test]
    fn pem_framed_garbage_never_panics(label in prop::sample::select(vec!["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE", "ENCRYPTED PRIVATE KEY"]), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", base64_std(&body));
        check(text.as_bytes());
    }

    #[test]
    fn json_garbage_never_panics(kty in prop::sample::select(vec!["RSA", "EC", "oct", "OKP"]), crv in prop::sample::select(vec!["P-256", "P-384", "P-521"]), n in proptest::collection::vec(any::<u8>(), 0..80), d in proptest::collection::vec(any::<u8>(), 0..80)) {
        let b = |v: &[u8]| hsmjwt_core::b64::encode(v);
        let json = serde_json::json!({
            "kty": kty, "crv": crv, "n": b(&n), "e": "AQAB", "x": b(&n), "y": b(&d), "d": b(&d),
            "p": b(&n), "q": b(&d), "dp": b(&n), "dq": b(&d), "qi": b(&n),
        });
        check(&serde_json::to_vec(&json).unwrap());
    }
}

fn seeds_cached() -> &'static Vec<Vec<u8>> {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seeds)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
