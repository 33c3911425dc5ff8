//! Many threads share one signer and a small session pool; keys are made while other
//! threads open, list and sign on the same token.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hsmjwt_core::{Algorithm, Header, Signer, Validation, decode, encode};
use hsmjwt_pkcs11::{
    Error, KeyClass, Pkcs11Signer, Pkcs11Uri, SignerOptions, generate_key_pair, list,
};
use hsmjwt_soft::SoftVerifier;

use crate::fixture::{BUSY, CHURN, MAIN};
use crate::sign::{AUD, claims};
use crate::{access, fixture_or_skip};

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

/// SoftHSM 2.6.1 (Debian 12) races when an object is created while another thread of the
/// process searches the token (softhsm/SoftHSMv2#573, fixed after 2.6.1): the creation or the
/// search fails with `CKR_GENERAL_ERROR` or `CKR_OBJECT_HANDLE_INVALID`. The library makes
/// generation exclusive against its own searches; this test fails without that.
#[test]
fn keys_generated_while_other_threads_open_list_and_sign() {
    const MADE: usize = 24;
    let f = fixture_or_skip!();
    let base = f.uri(CHURN, "churn-base");
    generate_key_pair(&base, Algorithm::ES256, None).expect("the first key");
    let signer = Pkcs11Signer::open(&base, SignerOptions::default()).expect("open");
    let token_uri = Pkcs11Uri::new()
        .with_token(CHURN)
        .with_pin_value(crate::fixture::PIN.into());
    let done = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (done, rounds, signer, base, token_uri) = (&done, &rounds, &signer, &base, &token_uri);
        scope.spawn(move || {
            let stop = StopOnDrop(done);
            for i in 0..MADE {
                let alg = if i % 6 == 5 {
                    Algorithm::RS256
                } else {
                    Algorithm::ES256
                };
                generate_key_pair(&f.uri(CHURN, &format!("churn-{i}")), alg, None)
                    .unwrap_or_else(|e| panic!("generating key {i}: {e:?}"));
            }
            drop(stop);
        });
        // At least one round, however the threads are scheduled.
        scope.spawn(move || {
            loop {
                let opened = Pkcs11Signer::open(base, SignerOptions::default())
                    .unwrap_or_else(|e| panic!("open while generating: {e:?}"));
                opened.sign(b"churn").expect("sign with a new signer");
                let inventory = list(Some(token_uri), &access(f))
                    .unwrap_or_else(|e| panic!("list while generating: {e:?}"));
                let token = inventory.slots[0].token.as_ref().expect("token");
                assert!(
                    token
                        .keys
                        .iter()
                        .any(|k| k.label.as_deref() == Some("churn-base")),
                    "{:#?}",
                    token.keys
                );
                rounds.fetch_add(1, Ordering::Relaxed);
                if done.load(Ordering::Acquire) {
                    break;
                }
            }
        });
        // At least one signature, however the threads are scheduled.
        scope.spawn(move || {
            loop {
                signer.sign(b"churn").expect("sign while generating");
                if done.load(Ordering::Acquire) {
                    break;
                }
            }
        });
    });
    eprintln!(
        "{} rounds of open, sign and list during generation",
        rounds.load(Ordering::Relaxed)
    );
    let inventory = list(Some(&token_uri), &access(f)).expect("list");
    let token = inventory.slots[0].token.as_ref().expect("token");
    let private = token
        .keys
        .iter()
        .filter(|k| k.class == KeyClass::Private)
        .count();
    assert_eq!(private, MADE + 1, "{:#?}", token.keys);
    for i in 0..MADE {
        let s = Pkcs11Signer::open(
            &f.uri(CHURN, &format!("churn-{i}")),
            SignerOptions::default(),
        )
        .unwrap_or_else(|e| panic!("open churn-{i}: {e:?}"));
        s.sign(b"made").expect("signs");
    }

    // Two threads asking for the same new label: one key is made, the other call is refused.
    let results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    generate_key_pair(&f.uri(CHURN, "churn-twice"), Algorithm::ES256, None)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("no panic"))
            .collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(Error::KeyExists { .. }))),
        "{results:?}"
    );
}

/// SoftHSM rewrites a token's file whenever a process logs in to it, and another process
/// asking for that token's information in that instant gets `CKR_GENERAL_ERROR`. Opening a
/// key reads every token's information, so an operator's `pkcs11-tool --login` on one token
/// must not fail opening a key or listing another: the library asks again.
#[test]
fn another_process_logging_in_to_another_token_fails_nothing() {
    const LOGINS: usize = 120;
    let f = fixture_or_skip!();
    let key = f.uri(MAIN, "tool-p256");
    let main = Pkcs11Uri::new()
        .with_token(MAIN)
        .with_pin_value(crate::fixture::PIN.into());
    let done = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (done, rounds, key, main) = (&done, &rounds, &key, &main);
        scope.spawn(move || {
            let _stop = StopOnDrop(done);
            for _ in 0..LOGINS {
                f.pkcs11_tool(BUSY, &["--list-objects"]);
            }
        });
        for _ in 0..2 {
            scope.spawn(move || {
                loop {
                    let signer = Pkcs11Signer::open(key, SignerOptions::default())
                        .unwrap_or_else(|e| panic!("open while another process logs in: {e:?}"));
                    signer.sign(b"busy").expect("sign");
                    list(Some(main), &access(f))
                        .unwrap_or_else(|e| panic!("list while another process logs in: {e:?}"));
                    rounds.fetch_add(1, Ordering::Relaxed);
                    if done.load(Ordering::Acquire) {
                        break;
                    }
                }
            });
        }
    });
    eprintln!(
        "{} rounds of open, sign and list during the logins",
        rounds.load(Ordering::Relaxed)
    );
}

/// Sets the flag when dropped, so the other threads stop even when generation panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}
