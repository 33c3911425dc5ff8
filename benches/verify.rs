//! Checking tokens: RS256 and ES256 signature verification plus claim validation, and
//! parsing a typical 1 KB token without any check.
//!
//! Groups `verify-ALG`:
//! - `hsmjwt`: `hsmjwt::decode` (structure, header, signature, claims, issuer, audience,
//!   expiry) with a `SoftVerifier`;
//! - `aws-lc-rs`: the signature check alone, with a pre-parsed aws-lc-rs key over the
//!   pre-split signing input: the limit;
//! - `jsonwebtoken`: `jsonwebtoken::decode` (aws_lc_rs backend) with the same rules
//!   (algorithm, issuer, audience, expiry).
//!
//! Group `parse`, a 1 KB RS256 token: `hsmjwt` (`decode_insecure`: header and typed claims,
//! strictly) and `jsonwebtoken` (`dangerous::insecure_decode` into a JSON value).
//!
//! After criterion, `common::paired` measures the contenders of each group interleaved,
//! in rounds; the ratios of `cargo xtask bench` come from those rounds.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Key;
use criterion::{Criterion, criterion_group, criterion_main};
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier};
use hsmjwt::{Algorithm, Claims, Header, Validation};

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        other => panic!("not benchmarked: {other}"),
    }
}

fn mint(alg: Algorithm, key: &Key, claims: &Claims) -> String {
    let private = PrivateKey::from_der(&key.pkcs8).expect("PKCS#8 DER");
    let signer = SoftSigner::new(private, Some(alg)).expect("signer");
    hsmjwt::encode(&Header::jwt(alg), claims, &signer).expect("encode")
}

fn bench_verify(c: &mut Criterion, alg: Algorithm, key: &Key) {
    let token = mint(alg, key, &common::claims());
    let spki = key.spki();
    let verifier =
        SoftVerifier::new(&PublicKey::from_der(&spki).expect("public key"), alg).expect("verifier");
    let validation = Validation::new()
        .with_issuer(common::ISS)
        .with_audience(common::AUD);
    hsmjwt::decode(&token, &verifier, &validation).expect("hsmjwt verifies");

    let key_bits = common::spki_key_bits(&spki);
    let raw = match alg {
        Algorithm::RS256 => ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key_bits),
        _ => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key_bits),
    }
    .expect("aws-lc-rs public key");
    let (signing_input, sig_b64) = token.rsplit_once('.').expect("three parts");
    let signature = URL_SAFE_NO_PAD.decode(sig_b64).expect("base64url");
    raw.verify_sig(signing_input.as_bytes(), &signature)
        .expect("aws-lc-rs verifies");

    let mut jwt_validation = jsonwebtoken::Validation::new(jwt_alg(alg));
    jwt_validation.set_issuer(&[common::ISS]);
    jwt_validation.set_audience(&[common::AUD]);
    let jwt_key = match alg {
        Algorithm::RS256 => jsonwebtoken::DecodingKey::from_rsa_der(&key_bits),
        _ => jsonwebtoken::DecodingKey::from_ec_der(&key_bits),
    };
    jsonwebtoken::decode::<serde_json::Value>(&token, &jwt_key, &jwt_validation)
        .expect("jsonwebtoken verifies");

    let ours = || hsmjwt::decode(black_box(&token), &verifier, &validation).unwrap();
    let limit = || {
        raw.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature))
            .unwrap();
    };
    let jwt = || {
        jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &jwt_key, &jwt_validation)
            .unwrap()
    };

    let group_name = format!("verify-{alg}");
    let mut group = c.benchmark_group(&group_name);
    group.bench_function("hsmjwt", |b| b.iter(ours));
    group.bench_function("aws-lc-rs", |b| b.iter(limit));
    group.bench_function("jsonwebtoken", |b| b.iter(jwt));
    group.finish();

    // The ratios: the same contenders, interleaved.
    common::paired(
        &group_name,
        vec![
            ("hsmjwt", Box::new(common::timed(ours))),
            ("aws-lc-rs", Box::new(common::timed(limit))),
            ("jsonwebtoken", Box::new(common::timed(jwt))),
        ],
    );
}

/// A token of about 1 KB: the service-account claims plus a few typical extras.
fn typical_token(key: &Key) -> String {
    let mut claims = common::claims();
    for (name, value) in [
        (
            "scope",
            serde_json::json!(
                "openid AdobeID read_organizations additional_info.projectedProductContext"
            ),
        ),
        (
            "client_id",
            serde_json::json!("cm-p123456-e7890123-integration"),
        ),
        ("name", serde_json::json!("Integration service account")),
        ("roles", serde_json::json!(["reader", "writer", "deployer"])),
        (
            "tenant",
            serde_json::json!({"id": "p123456", "env": "e7890123", "region": "va7"}),
        ),
    ] {
        claims.set(name, value).expect("extra claim");
    }
    mint(Algorithm::RS256, key, &claims)
}

fn bench_parse(c: &mut Criterion, key: &Key) {
    let token = typical_token(key);
    assert!(
        (900..1200).contains(&token.len()),
        "the typical token is {} bytes",
        token.len()
    );
    hsmjwt::decode_insecure(&token).expect("hsmjwt parses");
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
        .expect("jsonwebtoken parses");
    let ours = || hsmjwt::decode_insecure(black_box(&token)).unwrap();
    let jwt = || {
        jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(black_box(&token)).unwrap()
    };
    let mut group = c.benchmark_group("parse");
    group.bench_function("hsmjwt", |b| b.iter(ours));
    group.bench_function("jsonwebtoken", |b| b.iter(jwt));
    group.finish();

    common::paired(
        "parse",
        vec![
            ("hsmjwt", Box::new(common::timed(ours))),
            ("jsonwebtoken", Box::new(common::timed(jwt))),
        ],
    );
}

fn verify(c: &mut Criterion) {
    jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
        .install_default()
        .expect("jsonwebtoken uses its aws_lc_rs provider here");
    let rsa = Key::generate(KeySpec::Rsa(2048));
    let p256 = Key::generate(KeySpec::P256);
    bench_verify(c, Algorithm::RS256, &rsa);
    bench_verify(c, Algorithm::ES256, &p256);
    bench_parse(c, &rsa);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = verify
}
criterion_main!(benches);
