//! RFC 8037 appendix A: the Ed25519 example. The private key (A.1) loads, its public key
//! (A.2) and thumbprint (A.3) come out as published, the signature of A.4 is reproduced
//! byte for byte (Ed25519 is deterministic), and A.5's verification passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt::core::{
    Algorithm, Error, Header, Jwk, Signer as _, UnverifiedToken, Verifier as _, b64, encode_payload,
};
use hsmjwt::soft::{PrivateKey, PublicKey, SoftSigner, SoftVerifier};

/// A.1: the private key.
const A1_PRIVATE_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519",
 "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// A.2: the public key.
const A2_PUBLIC_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

/// A.3: the RFC 7638 thumbprint of the public key.
const A3_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

/// A.4: the JWS signing input (`{"alg":"EdDSA"}` and "Example of Ed25519 signing").
const A4_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";

/// A.4: the signature.
const A4_SIGNATURE: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn signer() -> SoftSigner {
    SoftSigner::new(
        PrivateKey::from_jwk(A1_PRIVATE_JWK.as_bytes()).unwrap(),
        None,
    )
    .unwrap()
}

#[test]
fn a1_a2_a3_key_public_key_and_thumbprint() {
    let signer = signer();
    assert_eq!(signer.algorithm(), Algorithm::EdDSA);
    let public = Jwk::from_json(A2_PUBLIC_JWK.as_bytes()).unwrap();
    assert_eq!(signer.public_key().params, public.params);
    assert_eq!(public.thumbprint(), A3_THUMBPRINT);
    assert_eq!(signer.with_thumbprint_kid().key_id(), Some(A3_THUMBPRINT));
    // The public JWK read as a key file gives the same key.
    let from_bytes = PublicKey::from_bytes(A2_PUBLIC_JWK.as_bytes()).unwrap();
    assert_eq!(from_bytes.params(), &public.params);
}

#[test]
fn a4_signature_is_reproduced_byte_for_byte() {
    let signer = signer();
    let signature = signer.sign(A4_SIGNING_INPUT.as_bytes()).unwrap();
    assert_eq!(b64::encode(&signature), A4_SIGNATURE);

    // The whole compact JWS, made by the encoder from the header and the payload.
    let token = encode_payload(
        &Header::new(Algorithm::EdDSA),
        b"Example of Ed25519 signing",
        &signer,
    )
    .unwrap();
    assert_eq!(token, format!("{A4_SIGNING_INPUT}.{A4_SIGNATURE}"));
}

#[test]
fn a5_verification() {
    let token = format!("{A4_SIGNING_INPUT}.{A4_SIGNATURE}");
    let public = Jwk::from_json(A2_PUBLIC_JWK.as_bytes()).unwrap();
    let verifier = SoftVerifier::from_jwk(&public, None).unwrap();
    assert_eq!(verifier.algorithm(), Algorithm::EdDSA);
    let parsed = UnverifiedToken::parse(&token, 1024).unwrap();
    assert_eq!(parsed.header.alg, Algorithm::EdDSA);
    assert_eq!(parsed.payload(), b"Example of Ed25519 signing");
    parsed.verify_signature(&verifier).unwrap();

    // One changed bit of the signature, or of the signed input, fails.
    let mut sig = b64::decode(A4_SIGNATURE.as_bytes()).unwrap();
    sig[10] ^= 1;
    assert!(matches!(
        verifier.verify(A4_SIGNING_INPUT.as_bytes(), &sig),
        Err(Error::InvalidSignature)
    ));
    let sig = b64::decode(A4_SIGNATURE.as_bytes()).unwrap();
    assert!(matches!(
        verifier.verify(
            b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmd",
            &sig
        ),
        Err(Error::InvalidSignature)
    ));
}
