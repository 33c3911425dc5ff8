//! Keys and token forging shared by the test modules.

use std::sync::OnceLock;

use hsmjwt::core::b64;
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier};
use hsmjwt::{Algorithm, Signer};

/// A signer and its verifier, generated once per test binary.
pub(crate) struct Pair {
    pub(crate) signer: SoftSigner,
    pub(crate) verifier: SoftVerifier,
}

fn make(spec: KeySpec, alg: Algorithm) -> Pair {
    let key = PrivateKey::generate(spec).expect("generate");
    let public = PublicKey::from_jwk(&key.public_jwk()).expect("public");
    Pair {
        signer: SoftSigner::new(key, Some(alg)).expect("signer"),
        verifier: SoftVerifier::new(&public, alg).expect("verifier"),
    }
}

/// An ES256 key pair (fast to generate and use).
pub(crate) fn es256() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| make(KeySpec::P256, Algorithm::ES256))
}

/// A second, unrelated ES256 key pair.
pub(crate) fn es256_other() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| make(KeySpec::P256, Algorithm::ES256))
}

/// An ES512 key pair (P-521).
pub(crate) fn es512() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| make(KeySpec::P521, Algorithm::ES512))
}

/// An EdDSA key pair (Ed25519).
pub(crate) fn ed25519() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| make(KeySpec::Ed25519, Algorithm::EdDSA))
}

/// An RS256 key pair.
pub(crate) fn rs256() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| make(KeySpec::Rsa(2048), Algorithm::RS256))
}

/// Signs an arbitrary header and payload text exactly as given.
pub(crate) fn forge(header_json: &str, payload_json: &str, signer: &dyn Signer) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header_json.as_bytes()),
        b64::encode(payload_json.as_bytes())
    );
    let sig = signer.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64::encode(&sig))
}
