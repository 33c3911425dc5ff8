//! JWK and JWK Set parsing, thumbprints, and turning keys into verifiers.

#![no_main]

use hsmjwt_core::{Jwk, Jwks};
use hsmjwt_soft::{PublicKey, SoftVerifier, verifiers_from_jwks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = Jwk::from_json(data) {
        let _ = jwk.thumbprint();
        let _ = SoftVerifier::from_jwk(&jwk, None);
        if let Ok(key) = PublicKey::from_jwk(&jwk) {
            let _ = key.to_spki_der();
        }
    }
    if let Ok(jwks) = Jwks::from_json(data) {
        let _ = verifiers_from_jwks(&jwks, None);
    }
});
