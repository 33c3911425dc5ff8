//! Interoperability with jsonwebtoken 11 (aws-lc-rs backend), both ways, for every algorithm
//! the two share (all but ES512, which jsonwebtoken lacks: see `interop_p521`): tokens it
//! makes verify here, and tokens made here verify there.
//!
//! The facade's jsonwebtoken dev-dependency is built without its `use_pem` feature, so keys
//! cross over as DER taken from this crate's PEM output (`to_pkcs8_pem`, `to_spki_pem`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt::core::{Algorithm, Claims, Error, Header, NumericDate, Validation, decode, encode};
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier};
use hsmjwt_testkit::der;
use serde_json::{Value, json};

use crate::keys;

const AUD: &str = "https://api.example";
const ISS: &str = "https://issuer.example";

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
        Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
        Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
        Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
        Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
        Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        other => panic!("no jsonwebtoken equivalent for {other}"),
    }
}

/// The algorithms jsonwebtoken has: all of ours but ES512.
fn shared_algorithms() -> impl Iterator<Item = Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|a| *a != Algorithm::ES512)
}

/// A PKCS#8 PEM key for `alg`, one per key kind.
fn pem_for(alg: Algorithm) -> &'static str {
    keys::pem_for(KeySpec::for_algorithm(alg, None).unwrap())
}

fn encoding_key(alg: Algorithm) -> jsonwebtoken::EncodingKey {
    let pkcs8 = der::pem_der(pem_for(alg), "PRIVATE KEY").unwrap();
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
        Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_der(&pkcs8),
        _ => jsonwebtoken::EncodingKey::from_rsa_der(&der::pkcs1_from_pkcs8(&pkcs8).unwrap()),
    }
}

/// Decoding keys from our public key: from the SPKI PEM we export, and from the JWK members.
fn decoding_keys(alg: Algorithm, public: &PublicKey) -> Vec<jsonwebtoken::DecodingKey> {
    let spki = der::pem_der(&public.to_spki_pem(), "PUBLIC KEY").unwrap();
    assert_eq!(spki, public.to_spki_der());
    let jwk = public.jwk().to_map();
    let s = |k: &str| jwk[k].as_str().unwrap().to_owned();
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => vec![
            jsonwebtoken::DecodingKey::from_ec_der(&spki),
            jsonwebtoken::DecodingKey::from_ec_components(&s("x"), &s("y")).unwrap(),
        ],
        // The raw 32-byte key inside our SubjectPublicKeyInfo, and the OKP JWK's `x`.
        Algorithm::EdDSA => vec![
            jsonwebtoken::DecodingKey::from_ed_der(&der::spki_key_bits(&spki).unwrap()),
            jsonwebtoken::DecodingKey::from_ed_components(&s("x")).unwrap(),
        ],
        _ => vec![
            jsonwebtoken::DecodingKey::from_rsa_der(&spki),
            jsonwebtoken::DecodingKey::from_rsa_components(&s("n"), &s("e")).unwrap(),
        ],
    }
}

fn now() -> i64 {
    NumericDate::now().as_unix()
}

fn jwt_validation(alg: Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(jwt_alg(alg));
    v.set_audience(&[AUD]);
    v.set_issuer(&[ISS]);
    v
}

#[test]
fn tokens_from_jsonwebtoken_verify_here() {
    for alg in shared_algorithms() {
        let now = now();
        let claims = json!({
            "iss": ISS, "sub": "client-1", "aud": AUD, "iat": now, "exp": now + 300,
            "jti": format!("jti-{alg}"), "scope": "read write",
        });
        let mut header = jsonwebtoken::Header::new(jwt_alg(alg));
        header.kid = Some("k1".to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &encoding_key(alg)).unwrap();

        let key = PrivateKey::from_pem(pem_for(alg)).unwrap();
        let verifier = SoftVerifier::new(key.public_key(), alg)
            .unwrap()
            .with_kid("k1");
        let validation = Validation::new().with_audience(AUD).with_issuer(ISS);
        let decoded =
            decode(&token, &verifier, &validation).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(decoded.header.alg, alg);
        assert_eq!(decoded.header.kid.as_deref(), Some("k1"));
        assert_eq!(decoded.claims.sub.as_deref(), Some("client-1"));
        assert_eq!(
            decoded.claims.jti.as_deref(),
            Some(format!("jti-{alg}").as_str())
        );

        // A jsonwebtoken token under another key of the same kind does not verify here.
        let other = PrivateKey::generate(KeySpec::for_algorithm(alg, None).unwrap()).unwrap();
        let other = SoftVerifier::new(other.public_key(), alg).unwrap();
        assert!(
            matches!(
                decode(&token, &other, &validation),
                Err(Error::InvalidSignature)
            ),
            "{alg}"
        );
    }
}

#[test]
fn tokens_made_here_verify_with_jsonwebtoken() {
    for alg in shared_algorithms() {
        let key = PrivateKey::from_pem(pem_for(alg)).unwrap();
        let public = key.public_key().clone();
        let signer = SoftSigner::new(key, Some(alg))
            .unwrap()
            .with_thumbprint_kid();
        let now = NumericDate::now();
        let claims = Claims::new()
            .with_issuer(ISS)
            .with_subject("client-1")
            .with_audience(AUD)
            .with_lifetime(now, std::time::Duration::from_secs(300))
            .with_jwt_id(format!("jti-{alg}"));
        let token = encode(&Header::jwt(alg), &claims, &signer).unwrap();

        for decoding_key in decoding_keys(alg, &public) {
            let data = jsonwebtoken::decode::<Value>(&token, &decoding_key, &jwt_validation(alg))
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(data.header.alg, jwt_alg(alg));
            assert_eq!(
                data.header.kid.as_deref(),
                Some(public.jwk().thumbprint().as_str())
            );
            assert_eq!(data.claims["sub"], "client-1");
            assert_eq!(data.claims["jti"], format!("jti-{alg}"));

            // jsonwebtoken refuses a tampered token of ours.
            let (input, sig) = token.rsplit_once('.').unwrap();
            let mut sig = hsmjwt::core::b64::decode(sig.as_bytes()).unwrap();
            sig[0] ^= 1;
            let bad = format!("{input}.{}", hsmjwt::core::b64::encode(&sig));
            assert!(
                jsonwebtoken::decode::<Value>(&bad, &decoding_key, &jwt_validation(alg)).is_err()
            );
        }
    }
}

#[test]
fn jsonwebtoken_reads_our_pkcs8_export_as_its_own_signing_key() {
    // The PEM we write is what jsonwebtoken signs with; its token verifies with our public
    // key loaded back from our own SPKI PEM.
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let now = now();
        let claims = json!({"iss": ISS, "aud": AUD, "exp": now + 60});
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jwt_alg(alg)),
            &claims,
            &encoding_key(alg),
        )
        .unwrap();
        let key = PrivateKey::from_pem(pem_for(alg)).unwrap();
        let public = PublicKey::from_pem(&key.public_key().to_spki_pem()).unwrap();
        let verifier = SoftVerifier::new(&public, alg).unwrap();
        decode(&token, &verifier, &Validation::new().with_audience(AUD)).unwrap();
    }
}
