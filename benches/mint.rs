//! Minting with a software key: claims to compact JWS, RS256, PS256, ES256, ES512 and EdDSA.
//!
//! Each group `mint-ALG` holds:
//! - `hsmjwt`: `hsmjwt::encode` with a `SoftSigner` (serialise, base64url, sign);
//! - `aws-lc-rs`: the signature alone, with a pre-parsed aws-lc-rs key over the same
//!   signing input: the limit a minted token can approach;
//! - `jsonwebtoken-aws-lc-rs`: `jsonwebtoken::encode` with its `aws_lc_rs` backend (not for
//!   ES512, which jsonwebtoken lacks);
//! - `jsonwebtoken-rust-crypto`: the same with its `rust_crypto` backend, in the helper
//!   process benches/jwt-rust-crypto (timed there, see `common::RustCrypto`; RS256, PS256
//!   and ES256 only).
//!
//! After criterion, `common::paired` measures the same four interleaved, in rounds; the
//! ratios of `cargo xtask bench` come from those rounds.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding, RsaKeyPair,
};
use common::{Key, RustCrypto};
use criterion::{Criterion, criterion_group, criterion_main};
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier};
use hsmjwt::{Algorithm, Header, Validation};

/// jsonwebtoken's algorithm, when it has one.
fn jwt_alg(alg: Algorithm) -> Option<jsonwebtoken::Algorithm> {
    match alg {
        Algorithm::RS256 => Some(jsonwebtoken::Algorithm::RS256),
        Algorithm::PS256 => Some(jsonwebtoken::Algorithm::PS256),
        Algorithm::ES256 => Some(jsonwebtoken::Algorithm::ES256),
        Algorithm::EdDSA => Some(jsonwebtoken::Algorithm::EdDSA),
        Algorithm::ES512 => None,
        other => panic!("not benchmarked: {other}"),
    }
}

/// jsonwebtoken's signing key for `alg`.
fn jwt_key(alg: Algorithm, key: &Key) -> jsonwebtoken::EncodingKey {
    match alg {
        Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
        Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_der(&key.pkcs8),
        _ => jsonwebtoken::EncodingKey::from_rsa_der(&key.pkcs1()),
    }
}

/// The raw aws-lc-rs signer for the limit line.
enum Raw {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Raw {
    fn new(alg: Algorithm, key: &Key) -> Raw {
        match alg {
            Algorithm::RS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&key.pkcs8).expect("RSA key"),
                &RSA_PKCS1_SHA256,
            ),
            Algorithm::PS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&key.pkcs8).expect("RSA key"),
                &RSA_PSS_SHA256,
            ),
            Algorithm::ES256 => Raw::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.pkcs8)
                    .expect("P-256 key"),
            ),
            Algorithm::ES512 => Raw::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, &key.pkcs8)
                    .expect("P-521 key"),
            ),
            Algorithm::EdDSA => {
                Raw::Ed(Ed25519KeyPair::from_pkcs8(&key.pkcs8).expect("Ed25519 key"))
            }
            other => panic!("not benchmarked: {other}"),
        }
    }

    fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Vec<u8> {
        match self {
            Raw::Rsa(pair, padding) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(*padding, rng, message, &mut sig).expect("sign");
                sig
            }
            Raw::Ec(pair) => pair.sign(rng, message).expect("sign").as_ref().to_vec(),
            Raw::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

fn bench_alg(c: &mut Criterion, alg: Algorithm, key: &Key, helper: Option<&mut RustCrypto>) {
    let claims = common::claims();
    let claims_json = common::claims_json(&claims);
    let header = Header::jwt(alg);
    let private = PrivateKey::from_der(&key.pkcs8).expect("PKCS#8 DER");
    let signer = SoftSigner::new(private, Some(alg)).expect("signer");
    let verifier = SoftVerifier::new(&PublicKey::from_der(&key.spki()).expect("public key"), alg)
        .expect("verifier");
    let validation = Validation::new()
        .with_issuer(common::ISS)
        .with_audience(common::AUD);

    // The same signing input for the raw signature.
    let token = hsmjwt::encode(&header, &claims, &signer).expect("encode");
    hsmjwt::decode(&token, &verifier, &validation).expect("hsmjwt token verifies");
    let signing_input = token.rsplit_once('.').expect("three parts").0.to_owned();
    let raw = Raw::new(alg, key);
    let rng = SystemRandom::new();

    // jsonwebtoken, where it has the algorithm.
    let jwt = jwt_alg(alg).map(|jalg| {
        let mut jwt_header = jsonwebtoken::Header::new(jalg);
        jwt_header.typ = Some("JWT".into());
        let jwt_key = jwt_key(alg, key);
        let theirs =
            jsonwebtoken::encode(&jwt_header, &claims_json, &jwt_key).expect("jsonwebtoken");
        hsmjwt::decode(&theirs, &verifier, &validation).expect("jsonwebtoken token verifies");
        (jwt_header, jwt_key)
    });

    let ours = || hsmjwt::encode(black_box(&header), black_box(&claims), &signer).unwrap();
    let limit = || raw.sign(&rng, black_box(signing_input.as_bytes()));
    let claims_ref = &claims_json;
    let jwt_aws_lc = jwt.as_ref().map(|(jwt_header, jwt_key)| {
        move || jsonwebtoken::encode(black_box(jwt_header), black_box(claims_ref), jwt_key).unwrap()
    });

    let group_name = format!("mint-{alg}");
    let name = alg.as_str();
    let mut helper = helper;
    let mut group = c.benchmark_group(&group_name);
    group.bench_function("hsmjwt", |b| b.iter(ours));
    group.bench_function("aws-lc-rs", |b| b.iter(limit));
    if let Some(jwt_aws_lc) = &jwt_aws_lc {
        group.bench_function("jsonwebtoken-aws-lc-rs", |b| b.iter(jwt_aws_lc));
    }
    if let Some(helper) = helper.as_deref_mut() {
        match alg {
            Algorithm::ES256 => helper.set_key(name, &key.pkcs8),
            _ => helper.set_key(name, &key.pkcs1()),
        }
        helper.set_claims(&claims_json);
        let theirs = helper.token(name);
        hsmjwt::decode(&theirs, &verifier, &validation).expect("rust_crypto token verifies");
        group.bench_function("jsonwebtoken-rust-crypto", |b| {
            b.iter_custom(|iters| helper.mint(name, iters));
        });
    }
    group.finish();

    // The ratios: the same contenders, interleaved.
    let mut contenders: Vec<common::Contender<'_>> = vec![
        ("hsmjwt", Box::new(common::timed(ours))),
        ("aws-lc-rs", Box::new(common::timed(limit))),
    ];
    if let Some(jwt_aws_lc) = jwt_aws_lc {
        contenders.push((
            "jsonwebtoken-aws-lc-rs",
            Box::new(common::timed(jwt_aws_lc)),
        ));
    }
    if let Some(helper) = helper {
        contenders.push((
            "jsonwebtoken-rust-crypto",
            Box::new(move |n| helper.mint(name, n)),
        ));
    }
    common::paired(&group_name, contenders);
}

fn mint(c: &mut Criterion) {
    // One process default, chosen explicitly: this fails if any other were installed.
    jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
        .install_default()
        .expect("jsonwebtoken uses its aws_lc_rs provider here");
    let rsa = Key::generate(KeySpec::Rsa(2048));
    let p256 = Key::generate(KeySpec::P256);
    let p521 = Key::generate(KeySpec::P521);
    let ed25519 = Key::generate(KeySpec::Ed25519);
    let mut helper = RustCrypto::start();
    bench_alg(c, Algorithm::RS256, &rsa, helper.as_mut());
    bench_alg(c, Algorithm::PS256, &rsa, helper.as_mut());
    bench_alg(c, Algorithm::ES256, &p256, helper.as_mut());
    // The rust_crypto helper signs RS256, PS256 and ES256 only.
    bench_alg(c, Algorithm::ES512, &p521, None);
    bench_alg(c, Algorithm::EdDSA, &ed25519, None);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = mint
}
criterion_main!(benches);
