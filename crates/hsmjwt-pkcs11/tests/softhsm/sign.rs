//! Every algorithm signs, with keys made by pkcs11-tool and by `generate_key_pair`, and the
//! tokens verify with hsmjwt-soft and with jsonwebtoken.

use hsmjwt_core::{
    Algorithm, Claims, Header, Jwk, NumericDate, PublicKeyParams, Signer, Validation, b64, decode,
    decode_insecure, encode,
};
use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};
use hsmjwt_soft::SoftVerifier;

use crate::fixture::{Fixture, LIB_KEYS, MAIN, PIN, TOOL_KEYS};
use crate::fixture_or_skip;

pub(crate) const AUD: &str = "https://api.example";

pub(crate) fn claims() -> Claims {
    Claims::new()
        .with_issuer("https://issuer.example")
        .with_audience(AUD)
        .with_expiry(NumericDate::from_unix(4_000_000_000))
}

/// Checks `token` with hsmjwt-soft (core `decode`) and with a second implementation:
/// jsonwebtoken (aws-lc-rs), or for ES512, which jsonwebtoken lacks, RustCrypto's `p521`.
pub(crate) fn verify_both(token: &str, jwk: &Jwk, alg: Algorithm) {
    let verifier = SoftVerifier::from_jwk(jwk, Some(alg)).expect("verifier from the signer's JWK");
    let decoded = decode(token, &verifier, &Validation::new().with_audience(AUD))
        .unwrap_or_else(|e| panic!("{alg}: hsmjwt-soft rejects the token: {e}"));
    assert_eq!(decoded.header.alg, alg);

    if alg == Algorithm::ES512 {
        use p521::ecdsa::signature::Verifier as _;
        let point = jwk.params.ec_point().expect("a P-521 key");
        let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("p521 key");
        let (input, sig) = token.rsplit_once('.').expect("three parts");
        let sig = b64::decode(sig.as_bytes()).expect("base64url");
        let sig = p521::ecdsa::Signature::from_slice(&sig).expect("132-byte r || s");
        key.verify(input.as_bytes(), &sig)
            .unwrap_or_else(|e| panic!("ES512: p521 rejects the token: {e}"));
        return;
    }
    let key = match &jwk.params {
        PublicKeyParams::Rsa { n, e } => {
            jsonwebtoken::DecodingKey::from_rsa_components(&b64::encode(n), &b64::encode(e))
        }
        PublicKeyParams::Ec { x, y, .. } => {
            jsonwebtoken::DecodingKey::from_ec_components(&b64::encode(x), &b64::encode(y))
        }
        PublicKeyParams::Okp { x, .. } => {
            jsonwebtoken::DecodingKey::from_ed_components(&b64::encode(x))
        }
        other => panic!("unexpected key {other:?}"),
    }
    .expect("jsonwebtoken key");
    let jalg: jsonwebtoken::Algorithm = alg
        .as_str()
        .parse()
        .expect("jsonwebtoken knows the algorithm");
    let mut validation = jsonwebtoken::Validation::new(jalg);
    validation.set_audience(&[AUD]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{alg}: jsonwebtoken rejects the token: {e}"));
}

fn sign_and_verify(f: &Fixture, label: &str, alg: Algorithm) {
    let signer = Pkcs11Signer::open(
        &f.uri(MAIN, label),
        SignerOptions::default()
            .with_algorithm(alg)
            .with_kid(format!("{label}-{alg}")),
    )
    .unwrap_or_else(|e| panic!("open {label} for {alg}: {e}"));
    assert_eq!(signer.algorithm(), alg);
    let token = encode(&Header::jwt(alg), &claims(), &signer)
        .unwrap_or_else(|e| panic!("{label} {alg}: {e}"));
    let header = decode_insecure(&token).expect("token parses").header;
    assert_eq!(
        header.kid.as_deref(),
        Some(format!("{label}-{alg}").as_str())
    );
    assert_eq!(signer.public_key().kid, header.kid);
    verify_both(&token, signer.public_key(), alg);
}

fn algorithms_for(alg: Algorithm) -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|a| a.key_kind() == alg.key_kind())
        .collect()
}

#[test]
fn every_algorithm_with_pkcs11_tool_keys() {
    let f = fixture_or_skip!();
    let mut count = 0;
    for (label, _, key_type) in TOOL_KEYS {
        let kind_alg = match key_type {
            "rsa:2048" => Algorithm::RS256,
            "EC:prime256v1" => Algorithm::ES256,
            "EC:secp384r1" => Algorithm::ES384,
            "EC:secp521r1" => Algorithm::ES512,
            "EC:edwards25519" => Algorithm::EdDSA,
            other => panic!("unexpected key type {other}"),
        };
        for alg in algorithms_for(kind_alg) {
            sign_and_verify(f, label, alg);
            count += 1;
        }
    }
    assert_eq!(count, 10, "all 10 algorithms were covered");
}

#[test]
fn every_algorithm_with_generated_keys() {
    let f = fixture_or_skip!();
    let mut count = 0;
    for (label, alg) in LIB_KEYS {
        for alg in algorithms_for(alg) {
            sign_and_verify(f, label, alg);
            count += 1;
        }
    }
    assert_eq!(count, 10, "all 10 algorithms were covered");
}

#[test]
fn default_algorithm_follows_the_key() {
    let f = fixture_or_skip!();
    for (label, expected) in [
        ("tool-rsa", Algorithm::RS256),
        ("tool-p256", Algorithm::ES256),
        ("tool-p384", Algorithm::ES384),
        ("tool-p521", Algorithm::ES512),
        ("tool-ed25519", Algorithm::EdDSA),
        ("lib-p521", Algorithm::ES512),
        ("lib-ed25519", Algorithm::EdDSA),
        ("lib-rsa", Algorithm::RS256),
    ] {
        let signer =
            Pkcs11Signer::open(&f.uri(MAIN, label), SignerOptions::default()).expect("open");
        assert_eq!(signer.algorithm(), expected, "{label}");
        assert_eq!(signer.key_id(), None);
        assert_eq!(signer.token_label(), MAIN);
    }
}

/// The `EC_POINT:` hex that `pkcs11-tool --list-objects` shows for the public key `label`.
fn listed_ec_point(f: &Fixture, label: &str) -> Vec<u8> {
    let listing = f
        .read_with_pkcs11_tool(MAIN, &["--list-objects", "--type", "pubkey"])
        .unwrap_or_else(|e| panic!("{e}"));
    let listing = String::from_utf8_lossy(&listing);
    let mut point = None;
    for line in listing.lines().map(str::trim) {
        if line.starts_with("Public Key Object") {
            point = None;
        } else if let Some(hex) = line.strip_prefix("EC_POINT:") {
            point = Some(hex.trim().to_owned());
        } else if line.strip_prefix("label:").map(str::trim) == Some(label) {
            let hex = point.take().expect("EC_POINT comes before the label");
            return (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
        }
    }
    panic!("{label} is not in the listing:\n{listing}");
}

#[test]
fn public_key_equals_what_pkcs11_tool_exports() {
    let f = fixture_or_skip!();
    for (label, id, _) in TOOL_KEYS {
        let signer =
            Pkcs11Signer::open(&f.uri(MAIN, label), SignerOptions::default()).expect("open");
        let ours = &signer.public_key().params;
        match f.read_with_pkcs11_tool(MAIN, &["--read-object", "--type", "pubkey", "--id", id]) {
            Ok(der) => {
                // DER SubjectPublicKeyInfo (PEM for an Ed25519 key).
                let exported = hsmjwt_soft::PublicKey::from_bytes(&der)
                    .expect("pkcs11-tool exports SubjectPublicKeyInfo");
                assert_eq!(ours, exported.params(), "{label}");
            }
            // Some OpenSC builds cannot export P-384 keys ("cannot create EVP_PKEY"): compare
            // the DER-wrapped CKA_EC_POINT that it lists instead.
            Err(e) => {
                eprintln!("{label}: {e}; comparing the listed EC_POINT");
                let listed = listed_ec_point(f, label);
                let point = match ours {
                    PublicKeyParams::Okp { x, .. } => x.clone(),
                    other => other.ec_point().expect("an EC key"),
                };
                // `04 len point`, the length in one byte or, past 127, as `81 len`.
                let skip = if point.len() > 127 { 3 } else { 2 };
                assert_eq!(listed.get(skip..), Some(point.as_slice()), "{label}");
                assert_eq!(listed.first(), Some(&0x04), "an OCTET STRING");
            }
        }
    }
}

#[test]
fn key_found_by_id_alone_and_pin_from_a_file() {
    let f = fixture_or_skip!();
    let pin_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(pin_file.path(), format!("{PIN}\n")).expect("write PIN");
    let uri: Pkcs11Uri = format!(
        "pkcs11:token={MAIN};id=%02;type=private?module-path={}&pin-source=file:{}",
        f.module.display(),
        pin_file.path().display()
    )
    .parse()
    .expect("URI");
    let signer = Pkcs11Signer::open(&uri, SignerOptions::default()).expect("open by id");
    assert_eq!(signer.algorithm(), Algorithm::ES256);
    let token = encode(&Header::jwt(Algorithm::ES256), &claims(), &signer).expect("sign");
    verify_both(&token, signer.public_key(), Algorithm::ES256);
}

#[test]
fn module_path_falls_back_to_the_options() {
    let f = fixture_or_skip!();
    let uri: Pkcs11Uri = format!("pkcs11:token={MAIN};object=tool-p384?pin-value={PIN}")
        .parse()
        .expect("URI");
    let options = SignerOptions::default().with_access(crate::access(f));
    let signer = Pkcs11Signer::open(&uri, options).expect("open without module-path");
    assert_eq!(signer.algorithm(), Algorithm::ES384);
    // The URI's module-path comes first.
    let elsewhere = SignerOptions::default()
        .with_access(hsmjwt_pkcs11::TokenAccess::new().with_module("/nonexistent/module.so"));
    let signer = Pkcs11Signer::open(&uri.clone().with_module_path(&f.module), elsewhere)
        .expect("open with the URI's module-path");
    assert_eq!(signer.algorithm(), Algorithm::ES384);
    // The library reads no environment: without either there is no module, even though the
    // fixture's child process runs with PKCS11_MODULE set.
    match Pkcs11Signer::open(&uri, SignerOptions::default()) {
        Err(hsmjwt_pkcs11::Error::NoModule) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn rustcrypto_signature_traits() {
    use hsmjwt_core::Verifier as _;
    let f = fixture_or_skip!();
    let signer =
        Pkcs11Signer::open(&f.uri(MAIN, "tool-p256"), SignerOptions::default()).expect("open");
    let verifier = SoftVerifier::from_jwk(signer.public_key(), None).expect("verifier");
    let raw: Vec<u8> =
        signature::Signer::try_sign(&signer, b"message").expect("signature::Signer<Vec<u8>>");
    assert_eq!(raw.len(), 64);
    verifier.verify(b"message", &raw).expect("verifies");
    let sig: hsmjwt_pkcs11::Signature =
        signature::Signer::try_sign(&signer, b"other").expect("signature::Signer<Signature>");
    verifier.verify(b"other", sig.as_bytes()).expect("verifies");
    assert!(verifier.verify(b"message", sig.as_bytes()).is_err());
}
