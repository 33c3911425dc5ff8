//! Key loading: private keys (PKCS#8, PKCS#1, SEC1; PEM, DER or JWK) and public keys
//! (SPKI, PKCS#1, certificates, JWK) from arbitrary bytes.

#![no_main]

use hsmjwt_soft::{PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PrivateKey::from_bytes(data) {
        let _ = key.public_jwk();
    }
    if let Ok(key) = PublicKey::from_bytes(data) {
        // What was accepted can be written out and read back.
        let der = key.to_spki_der();
        assert!(PublicKey::from_der(&der).is_ok());
    }
});
