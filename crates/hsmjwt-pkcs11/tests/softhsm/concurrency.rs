//! Many threads share one signer and a small session pool.

use std::sync::atomic::{AtomicUsize, Ordering};

use hsmjwt_core::{Algorithm, Header, Signer, Validation, decode, encode};
use hsmjwt_pkcs11::{Pkcs11Signer, SignerOptions};
use hsmjwt_soft::SoftVerifier;

use crate::fixture::MAIN;
use crate::fixture_or_skip;
use crate::sign::{AUD, claims};

#[test]
fn eight_threads_share_two_sessions_for_a_thousand_tokens() {
    let f = fixture_or_skip!();
    let signer = Pkcs11Signer::open(
        &f.uri(MAIN, "lib-rsa"),
        SignerOptions::default()
            .with_algorithm(Algorithm::RS256)
            .with_pool_size(2),
    )
    .expect("open");
    let verifier =
        SoftVerifier::from_jwk(signer.public_key(), Some(Algorithm::RS256)).expect("verifier");
    let validation = Validation::new().with_audience(AUD);
    let made = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (signer, verifier, validation, made) = (&signer, &verifier, &validation, &made);
            scope.spawn(move || {
                for i in 0..125 {
                    let token = encode(&Header::jwt(Algorithm::RS256), &claims(), signer)
                        .unwrap_or_else(|e| panic!("thread {t}, token {i}: {e:?}"));
                    decode(&token, verifier, validation)
                        .unwrap_or_else(|e| panic!("thread {t}, token {i} does not verify: {e}"));
                    made.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(made.load(Ordering::Relaxed), 1000);
    assert_eq!(signer.algorithm(), Algorithm::RS256);
}
