//! Certificate chains: PEM with one or more CERTIFICATE blocks, or one DER certificate.

#![no_main]

use hsmjwt_soft::{PublicKey, load_certificate_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = load_certificate_chain(data) {
        assert!(!chain.is_empty());
        for der in &chain {
            let _ = PublicKey::from_certificate_der(der);
        }
    }
});
