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
use hsmjwt_testkit::faults::{Fault, Faults, Function};
use hsmjwt_testkit::softhsm::{self, Builder, PIN, SoftHsm};

/// Runs `child` in a child process with a fresh token `token` holding a P-256 key `p256`.
fn with_token(test: &str, token: &str, child: fn(&SoftHsm, &Faults)) {
    with_token_env(test, token, &[], child);
}

/// [`with_token`], with more variables in the child's environment.
fn with_token_env(test: &str, token: &str, env: &[(&str, &str)], child: fn(&SoftHsm, &Faults)) {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(token)
        .key(token, "p256", "01", "EC:prime256v1")
        .run_in_child(
            test,
            |hsm, rerun| {
                let mut rerun = rerun
                    .env_remove("HSMJWT_FAULTS")
                    .env("HSMJWT_FAULTS_TARGET", hsm.module());
                for (key, value) in env {
                    rerun = rerun.env(key, value);
                }
                rerun
            },
            |hsm| child(hsm, &Faults::load(&Faults::find().unwrap()).unwrap()),
        )
        .unwrap();
}

/// Every function's calls so far, for the logs.
fn calls(faults: &Faults) -> String {
    Function::ALL
        .iter()
        .map(|f| format!("{} {}", f.name(), faults.calls(*f)))
        .collect::<Vec<_>>()
        .join(", ")
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
            println!("calls: {}", calls(faults));
            // Device errors made the signer finalize the module, and each time it
            // initialized it again.
            let finalized = faults.calls(Function::Finalize);
            assert!(finalized >= 1, "the module was never finalized");
            assert_eq!(faults.calls(Function::Initialize), finalized + 1);
            // The signer counted them: every module brought back, and the sessions it
            // replaced (lost sessions and handles are among the faults).
            let recoveries = signer.recoveries();
            println!("recoveries: {recoveries:?}");
            assert!(
                (1..=finalized).contains(&recoveries.modules),
                "{recoveries:?} for {finalized} finalizations"
            );
            assert!(recoveries.sessions >= 1, "{recoveries:?}");
            // Faults off: it signs at once.
            let sig = signer.try_sign(b"after").unwrap();
            verifier.verify(b"after", &sig).unwrap();
            let open = faults.open_sessions();
            assert!(
                (1..=8).contains(&open),
                "{open} sessions open for a pool of 8"
            );
            drop(signer);
            assert_eq!(faults.open_sessions(), 0, "sessions left open");
        },
    );
}

/// The faults a session can meet without the module going away (a closed session, a stale
/// object handle, a logged-out application, a general error), 1% of the calls, 8 threads,
/// 10,000 signatures: each fault costs at most the one call it hit (failures never
/// outnumber the faults injected: nothing fails on its own, no session is used mid-operation
/// after a fault), the pool never holds more than its 8 sessions, every returned signature
/// verifies, and none is left open after the signer is dropped.
#[test]
fn session_faults_cost_at_most_their_call() {
    with_token(
        "session_faults_cost_at_most_their_call",
        "faults-sess",
        |_, faults| {
            let token = "faults-sess";
            let signer = Pkcs11Signer::open(
                &uri(faults, token),
                SignerOptions::default().with_pool_size(8),
            )
            .unwrap();
            let verifier = SoftVerifier::from_jwk(signer.public_key(), None).unwrap();
            faults
                .configure(
                    "rate=0.01; rv=SESSION_HANDLE_INVALID, OBJECT_HANDLE_INVALID, \
                     USER_NOT_LOGGED_IN, GENERAL_ERROR; seed=4242",
                )
                .unwrap();
            let errors = Mutex::new(BTreeMap::<&'static str, u64>::new());
            let most_open = std::sync::atomic::AtomicI64::new(0);
            let started = Instant::now();
            std::thread::scope(|s| {
                for t in 0..8 {
                    let (signer, verifier, errors, most_open) =
                        (&signer, &verifier, &errors, &most_open);
                    s.spawn(move || {
                        let mut signed = 0;
                        while signed < 1250 {
                            assert!(started.elapsed() < Duration::from_secs(240));
                            let message = format!("thread {t} token {signed}");
                            match signer.try_sign(message.as_bytes()) {
                                Ok(sig) => {
                                    verifier
                                        .verify(message.as_bytes(), &sig)
                                        .unwrap_or_else(|e| {
                                            panic!("a returned signature does not verify: {e}")
                                        });
                                    signed += 1;
                                }
                                Err(e) => {
                                    *errors.lock().unwrap().entry(kind(&e)).or_default() += 1;
                                }
                            }
                            most_open.fetch_max(
                                faults.open_sessions(),
                                std::sync::atomic::Ordering::SeqCst,
                            );
                        }
                    });
                }
            });
            let injected = faults.injected();
            faults.clear();
            let errors = errors.into_inner().unwrap();
            let failed: u64 = errors.values().sum();
            let most_open = most_open.into_inner();
            println!(
                "10000 tokens signed and verified in {:.1?}; {injected} faults injected; \
                 {failed} signatures failed {errors:?}; at most {most_open} sessions open; \
                 calls: {}",
                started.elapsed(),
                calls(faults)
            );
            assert!(injected > 0, "no fault was injected");
            assert!(
                failed <= injected,
                "{failed} failures for {injected} faults: {errors:?}"
            );
            assert!(!errors.contains_key("ModuleLost"), "{errors:?}");
            assert!(most_open <= 8, "{most_open} sessions open for a pool of 8");
            // Each recovery answered an injected session fault; the module stayed.
            let recoveries = signer.recoveries();
            assert!(
                (1..=injected).contains(&recoveries.sessions),
                "{recoveries:?} for {injected} faults"
            );
            assert_eq!(recoveries.modules, 0, "{recoveries:?}");
            drop(signer);
            assert_eq!(faults.open_sessions(), 0, "sessions left open");
        },
    );
}

/// Faults on one function only (`C_Sign`, set by the text configuration): every signature
/// fails as a typed `Sign` error naming `C_Sign` and the injected return value, without
/// reaching the module; the failed operations' sessions are closed, not piled up; latency
/// is added to each `C_Sign`; once cleared, it signs. A configuration the module cannot read
/// is refused, the one before kept.
#[test]
fn faults_on_one_function_and_latency() {
    with_token(
        "faults_on_one_function_and_latency",
        "faults-one",
        |_, faults| {
            let token = "faults-one";
            let signer = Pkcs11Signer::open(
                &uri(faults, token),
                SignerOptions::default().with_pool_size(2),
            )
            .unwrap();
            let verifier = SoftVerifier::from_jwk(signer.public_key(), None).unwrap();
            faults.configure("rate:C_Sign=1;rv=GENERAL_ERROR").unwrap();
            let e = faults.configure("rate=2;rv=GENERAL_ERROR").unwrap_err();
            assert!(e.to_string().contains("a fraction from 0 to 1"), "{e}");
            let e = faults.set_rate(Function::CloseSession, 1).unwrap_err();
            assert!(e.to_string().contains("C_CloseSession"), "{e}");
            let (sign_inits, closed) = (
                faults.calls(Function::SignInit),
                faults.calls(Function::CloseSession),
            );
            for _ in 0..20 {
                let e = signer.try_sign(b"fails").unwrap_err();
                match &e {
                    Error::Sign { operation, .. } => assert_eq!(*operation, "C_Sign", "{e}"),
                    other => panic!("not a Sign error: {other:?}"),
                }
                assert_eq!(
                    e.return_value().as_deref(),
                    Some("CKR_GENERAL_ERROR"),
                    "{e}"
                );
            }
            assert!(faults.calls(Function::SignInit) - sign_inits >= 20);
            // Each failed operation's session closed, none given back mid-operation.
            assert!(faults.calls(Function::CloseSession) - closed >= 20);
            assert!(
                faults.open_sessions() <= 2,
                "{} sessions open",
                faults.open_sessions()
            );

            faults.configure("latency_ms=50").unwrap();
            let started = Instant::now();
            let sig = signer.try_sign(b"slow").unwrap();
            assert!(
                started.elapsed() >= Duration::from_millis(50),
                "{:?}",
                started.elapsed()
            );
            verifier.verify(b"slow", &sig).unwrap();

            faults.set(0, &[Fault::GeneralError], Duration::ZERO, 0);
            faults
                .set_rate(Function::FindObjectsInit, 1_000_000)
                .unwrap();
            // Signing finds no object: unaffected.
            let sig = signer.try_sign(b"fast").unwrap();
            verifier.verify(b"fast", &sig).unwrap();
            faults.clear();
            println!("calls: {}", calls(faults));
            drop(signer);
            assert_eq!(faults.open_sessions(), 0, "sessions left open");
        },
    );
}

/// A child process is configured by `HSMJWT_FAULTS` when the module loads (no control call):
/// here every `C_Sign` fails with `CKR_DEVICE_ERROR`, which the signer reports as a lost
/// module.
#[test]
fn a_child_is_configured_by_the_environment() {
    with_token_env(
        "a_child_is_configured_by_the_environment",
        "faults-env",
        &[("HSMJWT_FAULTS", "rate_ppm:C_Sign=1000000,rv=DEVICE_ERROR")],
        |_, faults| {
            let signer =
                Pkcs11Signer::open(&uri(faults, "faults-env"), SignerOptions::default()).unwrap();
            let e = signer.try_sign(b"fails").unwrap_err();
            assert!(matches!(e, Error::ModuleLost { .. }), "{e:?}");
            assert!(faults.injected() >= 1);
            assert!(faults.calls(Function::Sign) >= 1);
        },
    );
}

/// A `HSMJWT_FAULTS` the module cannot read makes it refuse to load (rather than run the
/// test without faults): `C_GetFunctionList` fails, the reason on stderr, and the signer
/// cannot open, with a typed error.
#[test]
fn an_unreadable_configuration_refuses_the_module() {
    with_token_env(
        "an_unreadable_configuration_refuses_the_module",
        "faults-bad",
        &[("HSMJWT_FAULTS", "rate=0.01")],
        |_, faults| {
            let e = Pkcs11Signer::open(&uri(faults, "faults-bad"), SignerOptions::default())
                .unwrap_err();
            println!("{e}");
            assert!(
                e.return_value().is_some() || matches!(e, Error::Pkcs11 { .. }),
                "{e:?}"
            );
        },
    );
}

/// A PIN the token rejects is tried once: a real wrong PIN at open (one `C_Login`), a
/// rejection injected at open (one `C_Login`), and when the signer logs
/// in again after its sessions were closed under it (one `C_Login`, then
/// `PinRejectedEarlier` without another).
#[test]
fn a_rejected_pin_is_never_tried_again() {
    with_token(
        "a_rejected_pin_is_never_tried_again",
        "faults-pin",
        |hsm, faults| {
            let token = "faults-pin";
            // A real wrong PIN: one C_Login.
            let before = faults.logins();
            let wrong = uri(faults, token).with_pin_value("98765".into());
            let e = Pkcs11Signer::open(&wrong, SignerOptions::default()).unwrap_err();
            assert!(matches!(e, Error::PinIncorrect { .. }), "{e:?}");
            assert_eq!(
                faults.logins(),
                before + 1,
                "C_Login calls with a wrong PIN"
            );

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

/// A `C_Sign` that does not return keeps its session: with a pool of one, another signature
/// waits for it (the session is never handed out mid-operation) and both finish once it is
/// released; with a pool of two, another signature goes through on the second session
/// meanwhile.
#[test]
fn a_held_signature_keeps_its_session() {
    with_token(
        "a_held_signature_keeps_its_session",
        "faults-held",
        |_, faults| {
            let wait_held = |count: u64| {
                let started = Instant::now();
                while faults.signs_blocked() < count {
                    assert!(started.elapsed() < Duration::from_secs(10), "never held");
                    std::thread::sleep(Duration::from_millis(5));
                }
            };
            for pool in [1, 2] {
                let signer = Pkcs11Signer::open(
                    &uri(faults, "faults-held"),
                    SignerOptions::default().with_pool_size(pool),
                )
                .unwrap();
                let verifier = SoftVerifier::from_jwk(signer.public_key(), None).unwrap();
                let held_before = faults.signs_blocked();
                faults.hold_signs(1);
                let signer_ref = &signer;
                std::thread::scope(|s| {
                    let held = s.spawn(move || signer_ref.try_sign(b"held"));
                    wait_held(held_before + 1);
                    let (done, other) = std::sync::mpsc::channel();
                    let second = s.spawn(move || {
                        let result = signer_ref.try_sign(b"other");
                        let _ = done.send(());
                        result
                    });
                    let finished = other.recv_timeout(Duration::from_millis(500)).is_ok();
                    if pool == 1 {
                        assert!(!finished, "a signature ran on the held session");
                    } else {
                        assert!(finished, "the second session was not used");
                    }
                    assert!(!held.is_finished());
                    faults.release_signs();
                    for (message, thread) in [(&b"held"[..], held), (&b"other"[..], second)] {
                        let sig = thread.join().unwrap().unwrap();
                        verifier.verify(message, &sig).unwrap();
                    }
                });
                assert_eq!(faults.signs_blocked(), held_before + 1);
                drop(signer);
                assert_eq!(faults.open_sessions(), 0, "sessions left open");
            }
        },
    );
}
