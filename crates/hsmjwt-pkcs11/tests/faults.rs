//! Faults injected between the signer and SoftHSM2 by `hsmjwt-testkit-faults`, a PKCS#11
//! module that forwards every call and fails some on purpose (see `hsmjwt_testkit::faults`).
//!
//! Each test has its own SoftHSM2 token and runs itself again in a child with the token's
//! environment (SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`); the child loads the fault
//! module, which loads SoftHSM2 behind it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hsmjwt_core::{Signer as _, Verifier as _};
use hsmjwt_pkcs11::{Error, Pkcs11Signer, Pkcs11Uri, SignerOptions};
use hsmjwt_soft::SoftVerifier;
use hsmjwt_testkit::faults::{Fault, Faults};
use hsmjwt_testkit::softhsm::{self, Builder, PIN, Rerun, SoftHsm};

/// Runs `child` in a child process with a fresh token `token` holding a P-256 key `p256`.
fn with_token(test: &str, token: &str, child: fn(&SoftHsm, &Faults)) {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let spec = Builder::new(installation)
        .token(token)
        .key(token, "p256", "01", "EC:prime256v1");
    if let Some(hsm) = spec.attach().unwrap() {
        let faults = Faults::load(&Faults::find().unwrap()).unwrap();
        return child(&hsm, &faults);
    }
    let hsm = spec.build().unwrap();
    let module = hsm.module().to_owned();
    let status = hsm
        .rerun(
            &Rerun::one_test(test)
                .env_remove("HSMJWT_PIN")
                .env("HSMJWT_FAULTS_TARGET", module),
        )
        .unwrap();
    assert!(status.success(), "the SoftHSM child failed: {status}");
}

fn uri(faults: &Faults, token: &str) -> Pkcs11Uri {
    Pkcs11Uri::new()
        .with_token(token)
        .with_object("p256")
        .with_module_path(faults.path())
        .with_pin_value(PIN.into())
}

/// The variant of a signing error, for the counts; every error the signer returns is one
/// of the crate's typed errors, and these are the ones faults may cause.
fn kind(e: &Error) -> &'static str {
    match e {
        Error::ModuleLost { .. } => "ModuleLost",
        Error::Sign { .. } => "Sign",
        Error::Login { .. } => "Login",
        Error::KeyNotFound { .. } => "KeyNotFound",
        Error::Pkcs11 { .. } => "Pkcs11",
        Error::TokenNotFound { .. } => "TokenNotFound",
        other => panic!("a fault turned into an unexpected error: {other:?}"),
    }
}

/// 8 threads sign 10,000 tokens through one signer while 1% of the wrapped calls fail at
/// random (device errors, lost sessions, stale handles, logouts, general errors): every
/// signature returned verifies, every failure is a typed error, signing always comes back
/// (no thread fails for more than 6 s in a row: the longest wait between attempts to bring
/// the module back is 5 s), the PIN is never rejected, and no session is left open once the
/// signer is dropped.
#[test]
fn eight_threads_sign_through_random_faults() {
    with_token(
        "eight_threads_sign_through_random_faults",
        "faults-8t",
        |_, faults| {
            let token = "faults-8t";
            let signer = Pkcs11Signer::open(
                &uri(faults, token),
                SignerOptions::default().with_pool_size(8),
            )
            .unwrap();
            let verifier = SoftVerifier::from_jwk(signer.public_key(), None).unwrap();
            let random = [
                Fault::DeviceError,
                Fault::SessionHandleInvalid,
                Fault::ObjectHandleInvalid,
                Fault::UserNotLoggedIn,
                Fault::GeneralError,
            ];
            faults.set(10_000, &random, Duration::ZERO, 0x5EED_F00D);
            let errors = Mutex::new(BTreeMap::<&'static str, u64>::new());
            let first_errors = Mutex::new(Vec::<String>::new());
            let started = Instant::now();
            let per_thread = 1250usize;
            let longest_outage = std::thread::scope(|s| {
                let workers: Vec<_> = (0..8)
                    .map(|t| {
                        let (signer, verifier, errors, first_errors) =
                            (&signer, &verifier, &errors, &first_errors);
                        s.spawn(move || {
                            let mut signed = 0;
                            let mut failing_since: Option<Instant> = None;
                            let mut longest = Duration::ZERO;
                            while signed < per_thread {
                                assert!(
                                    started.elapsed() < Duration::from_secs(240),
                                    "thread {t} signed only {signed} in 240 s"
                                );
                                let message = format!("thread {t} token {signed}");
                                match signer.try_sign(message.as_bytes()) {
                                    Ok(sig) => {
                                        verifier.verify(message.as_bytes(), &sig).unwrap_or_else(
                                            |e| panic!("a returned signature does not verify: {e}"),
                                        );
                                        if let Some(since) = failing_since.take() {
                                            longest = longest.max(since.elapsed());
                                        }
                                        signed += 1;
                                    }
                                    Err(e) => {
                                        *errors.lock().unwrap().entry(kind(&e)).or_default() += 1;
                                        let mut first = first_errors.lock().unwrap();
                                        if first.len() < 5 {
                                            first.push(e.to_string());
                                        }
                                        failing_since.get_or_insert_with(Instant::now);
                                    }
                                }
                            }
                            longest
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap())
                    .max()
                    .unwrap_or_default()
            });
            let injected = faults.injected();
            faults.clear();
            let errors = errors.into_inner().unwrap();
            let failed: u64 = errors.values().sum();
            println!(
                "10000 tokens signed and verified in {:.1?}; {injected} faults injected; \
                 {failed} signatures failed {errors:?}; longest outage of a thread {longest_outage:?}; \
                 first errors: {:#?}",
                started.elapsed(),
                first_errors.into_inner().unwrap()
            );
            assert!(injected > 0, "no fault was injected");
            assert!(failed > 0, "no fault reached the caller");
            assert!(
                longest_outage < Duration::from_secs(6),
                "a thread failed for {longest_outage:?} in a row"
            );
            // Faults off: it signs at once.
            let sig = signer.try_sign(b"after").unwrap();
            verifier.verify(b"after", &sig).unwrap();
            assert!(faults.open_sessions() > 0);
            drop(signer);
            assert_eq!(faults.open_sessions(), 0, "sessions left open");
        },
    );
}

/// A PIN the token rejects is tried once: at open (one `C_Login`), and when the signer logs
/// in again after its sessions were closed under it (one `C_Login`, then
/// `PinRejectedEarlier` without another).
#[test]
fn a_rejected_pin_is_never_tried_again() {
    with_token(
        "a_rejected_pin_is_never_tried_again",
        "faults-pin",
        |hsm, faults| {
            let token = "faults-pin";
            faults.set(1_000_000, &[Fault::PinIncorrect], Duration::ZERO, 0);
            let before = faults.logins();
            let e = Pkcs11Signer::open(&uri(faults, token), SignerOptions::default()).unwrap_err();
            assert!(matches!(e, Error::PinIncorrect { .. }), "{e:?}");
            assert_eq!(faults.logins(), before + 1, "C_Login calls at open");

            faults.clear();
            let signer = Pkcs11Signer::open(&uri(faults, token), SignerOptions::default()).unwrap();
            signer.try_sign(b"logged in").unwrap();
            // Every session closed (which logs the application out), then the PIN rejected.
            let slot = signer.slot_id();
            hsmjwt_testkit::close_all_sessions(faults.path(), slot).unwrap();
            faults.set(1_000_000, &[Fault::PinIncorrect], Duration::ZERO, 0);
            let before = faults.logins();
            let e = signer.try_sign(b"logged out").unwrap_err();
            assert!(matches!(e, Error::PinIncorrect { .. }), "{e:?}");
            assert_eq!(faults.logins(), before + 1);
            for _ in 0..5 {
                let e = signer.try_sign(b"again").unwrap_err();
                assert!(matches!(e, Error::PinRejectedEarlier { .. }), "{e:?}");
            }
            assert_eq!(
                faults.logins(),
                before + 1,
                "the rejected PIN was tried again"
            );
            let _ = hsm;
        },
    );
}
