//! Wrong PIN, missing PIN, missing key, bad URIs, wrong algorithms, and recovery from
//! sessions logged out or closed under the signer.

use std::sync::atomic::{AtomicUsize, Ordering};

use hsmjwt_core::{Algorithm, Header, Signer, Validation, decode, encode};
use hsmjwt_pkcs11::cryptoki::error::Error as CryptokiError;
use hsmjwt_pkcs11::cryptoki::error::RvError;
use hsmjwt_pkcs11::cryptoki::session::SessionState;
use hsmjwt_pkcs11::{Error, Pkcs11Signer, Pkcs11Uri, SignerOptions};
use hsmjwt_soft::SoftVerifier;

use crate::fixture::{CLOSE_ALL, MAIN, NO_LOGIN, RECOVER};
use crate::sign::{AUD, claims, verify_both};
use crate::{access, fixture_or_skip};

fn open_err(uri: &Pkcs11Uri, options: SignerOptions) -> Error {
    match Pkcs11Signer::open(uri, options) {
        Ok(s) => panic!("expected an error, opened {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn wrong_pin_is_reported_once_and_does_not_lock() {
    let f = fixture_or_skip!();
    let e = open_err(
        &f.uri_with_pin(NO_LOGIN, "nologin-p256", "9999"),
        SignerOptions::default(),
    );
    assert!(
        matches!(&e, Error::PinIncorrect { token, .. } if token == NO_LOGIN),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("wrong PIN") && msg.contains(NO_LOGIN), "{msg}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "the PKCS#11 error is kept as source"
    );
    assert_eq!(e.return_value().as_deref(), Some("CKR_PIN_INCORRECT"));

    // SoftHSM counts failures but does not lock; the token stays usable.
    let inventory = hsmjwt_pkcs11::list(Some(&Pkcs11Uri::new().with_token(NO_LOGIN)), &access(f))
        .expect("list");
    let token = inventory
        .slots
        .iter()
        .find_map(|s| s.token.as_ref())
        .expect("the token is listed");
    assert!(!token.flags.user_pin_locked);
}

/// A library message names what is missing in the library's terms: no application's
/// commands or environment variables (the `hsmjwt` command adds its own hints).
fn assert_no_application_hint(msg: &str) {
    for word in ["hsmjwt ", "HSMJWT_PIN", "PKCS11_MODULE", "terminal"] {
        assert!(!msg.contains(word), "{word:?} in {msg}");
    }
}

#[test]
fn no_pin_says_what_is_missing() {
    let f = fixture_or_skip!();
    let uri = Pkcs11Uri::new()
        .with_token(NO_LOGIN)
        .with_object("nologin-p256")
        .with_module_path(&f.module);
    let e = open_err(&uri, SignerOptions::default());
    assert!(
        matches!(&e, Error::NoPin { token } if token == NO_LOGIN),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("pin-source") && msg.contains("pin-value") && msg.contains("PIN source"),
        "{msg}"
    );
    assert_no_application_hint(&msg);
}

#[test]
fn no_module_says_what_is_missing() {
    let uri = Pkcs11Uri::new()
        .with_token(NO_LOGIN)
        .with_object("nologin-p256");
    let e = open_err(&uri, SignerOptions::default());
    assert!(matches!(&e, Error::NoModule), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("module-path"), "{msg}");
    assert_no_application_hint(&msg);
}

#[test]
fn missing_key_names_the_search_and_suggests_listing() {
    let f = fixture_or_skip!();
    let e = open_err(&f.uri(MAIN, "does-not-exist"), SignerOptions::default());
    assert!(matches!(&e, Error::KeyNotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("does-not-exist") && msg.contains(MAIN),
        "{msg}"
    );
    assert_no_application_hint(&msg);

    let e = open_err(
        &f.uri(MAIN, "tool-rsa").with_id(vec![0x7f]),
        SignerOptions::default(),
    );
    assert!(e.to_string().contains("id 7f"), "{e}");
}

#[test]
fn missing_token_and_wrong_type() {
    let f = fixture_or_skip!();
    let e = open_err(&f.uri("no-such-token", "k"), SignerOptions::default());
    assert!(matches!(&e, Error::TokenNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such-token"), "{e}");
    assert_no_application_hint(&e.to_string());

    let uri = f
        .uri(MAIN, "tool-rsa")
        .with_object_type(hsmjwt_pkcs11::ObjectType::Cert);
    let e = open_err(&uri, SignerOptions::default());
    assert!(
        matches!(&e, Error::InvalidUri { attribute: Some(a), .. } if a == "type"),
        "{e:?}"
    );
}

#[test]
fn invalid_uris_name_the_attribute() {
    for (uri, attribute) in [
        ("pkcs11:token=a;tokn=b", "tokn"),
        ("pkcs11:object=a;object=b", "object"),
        ("pkcs11:id=%G1", "id"),
        ("pkcs11:slot-id=first", "slot-id"),
        ("pkcs11:token=a?pin-value=1&color=red", "color"),
    ] {
        match uri.parse::<Pkcs11Uri>() {
            Err(Error::InvalidUri {
                attribute: Some(a), ..
            }) => assert_eq!(a, attribute, "{uri}"),
            other => panic!("{uri}: {other:?}"),
        }
    }
    let e = "https://example.com"
        .parse::<Pkcs11Uri>()
        .expect_err("not a pkcs11 URI");
    assert!(e.to_string().contains("pkcs11:"), "{e}");
}

#[test]
fn algorithm_must_fit_the_key() {
    let f = fixture_or_skip!();
    for (label, alg) in [
        ("tool-p256", Algorithm::ES384),
        ("tool-p256", Algorithm::RS256),
        ("tool-p384", Algorithm::ES256),
        ("tool-rsa", Algorithm::ES256),
        ("tool-p256", Algorithm::ES512),
        ("tool-p521", Algorithm::ES384),
        ("tool-ed25519", Algorithm::ES256),
        ("lib-ed25519", Algorithm::ES512),
        ("tool-p256", Algorithm::EdDSA),
        ("tool-rsa", Algorithm::EdDSA),
    ] {
        let e = open_err(
            &f.uri(MAIN, label),
            SignerOptions::default().with_algorithm(alg),
        );
        assert!(
            matches!(&e, Error::AlgorithmMismatch { algorithm, .. } if *algorithm == alg),
            "{label} {alg}: {e:?}"
        );
        if label.contains("ed25519") {
            assert!(e.to_string().contains("an Ed25519 key"), "{e}");
        }
    }
}

#[test]
fn signer_recovers_once_after_being_logged_out() {
    let f = fixture_or_skip!();
    let signer = Pkcs11Signer::open(
        &f.uri(RECOVER, "recover-p256"),
        SignerOptions::default().with_pool_size(2),
    )
    .expect("open");
    let sign = || encode(&Header::jwt(Algorithm::ES256), &claims(), &signer);
    verify_both(
        &sign().expect("first signature"),
        signer.public_key(),
        Algorithm::ES256,
    );

    // A second session from the same shared context logs the whole application out of the
    // token (login state is per application): the signer's sessions lose their login and
    // the token forgets the private key's handle.
    let ctx = hsmjwt_pkcs11::shared_context(&f.module).expect("shared context");
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == RECOVER))
        .expect("the recovery token");
    assert_eq!(slot.id(), signer.slot_id());
    for round in 0..3 {
        let session = ctx.open_ro_session(slot).expect("second session");
        session.logout().expect("logout");
        let token = sign().unwrap_or_else(|e| panic!("round {round}: signing after logout: {e:?}"));
        verify_both(&token, signer.public_key(), Algorithm::ES256);
    }
    // And the login is back for later signatures.
    for _ in 0..5 {
        sign().expect("signature after recovery");
    }
}

#[test]
fn signer_recovers_after_all_sessions_are_closed_under_it() {
    let f = fixture_or_skip!();
    let alg = Algorithm::ES256;
    let signer = Pkcs11Signer::open(
        &f.uri(CLOSE_ALL, "closeall-p256"),
        SignerOptions::default().with_pool_size(2),
    )
    .expect("open");
    let verifier = SoftVerifier::from_jwk(signer.public_key(), Some(alg)).expect("verifier");
    let validation = Validation::new().with_audience(AUD);
    let sign = || encode(&Header::jwt(alg), &claims(), &signer);
    let check = |token: &str, what: &str| {
        decode(token, &verifier, &validation)
            .unwrap_or_else(|e| panic!("{what}: the token does not verify: {e}"));
    };
    check(&sign().expect("first signature"), "first signature");

    // A witness session next to the signer's, from the process's shared context, shows that
    // `C_CloseAllSessions` reached the library state the signer uses.
    let ctx = hsmjwt_pkcs11::shared_context(&f.module).expect("shared context");
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| s.id() == signer.slot_id())
        .expect("the signer's slot");
    assert_eq!(
        ctx.get_token_info(slot).expect("token info").label(),
        CLOSE_ALL
    );
    let close_all = |round: &str| {
        let witness = ctx.open_ro_session(slot).expect("witness session");
        let state = witness
            .get_session_info()
            .expect("session info")
            .session_state();
        assert_eq!(
            state,
            SessionState::RoUser,
            "{round}: the signer is logged in"
        );
        hsmjwt_testkit::close_all_sessions(&f.module, signer.slot_id())
            .unwrap_or_else(|e| panic!("{round}: {e}"));
        match witness.get_session_info() {
            Err(CryptokiError::Pkcs11(RvError::SessionHandleInvalid, _)) => {}
            other => panic!("{round}: the witness session survived C_CloseAllSessions: {other:?}"),
        }
        // Like the signer's pool, do not close a handle the token no longer knows.
        std::mem::forget(witness);
        // The last session is gone, and with it the application's login.
        let probe = ctx.open_ro_session(slot).expect("probe session");
        let state = probe
            .get_session_info()
            .expect("session info")
            .session_state();
        assert_eq!(state, SessionState::RoPublic, "{round}: logged out");
    };

    // One signer, one pooled session: closed, then the next signature recovers.
    close_all("sequential");
    let token = sign().unwrap_or_else(|e| panic!("signing after C_CloseAllSessions: {e:?}"));
    check(&token, "after C_CloseAllSessions");
    verify_both(&token, signer.public_key(), alg);
    // The signer counts the session it replaced; the module was not lost.
    let counted = signer.recoveries();
    assert_eq!((counted.sessions, counted.modules), (1, 0), "{counted:?}");

    // Both pooled sessions closed under threads that sign at once.
    for round in ["first concurrent", "second concurrent"] {
        // Fill the pool (two sessions) before closing them.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        sign().expect("warm-up signature");
                    }
                });
            }
        });
        close_all(round);
        let made = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (sign, check, made) = (&sign, &check, &made);
                scope.spawn(move || {
                    for i in 0..20 {
                        let token = sign().unwrap_or_else(|e| {
                            panic!("{round}: thread {t}, token {i} after C_CloseAllSessions: {e:?}")
                        });
                        check(&token, &format!("{round}: thread {t}, token {i}"));
                        made.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(made.load(Ordering::Relaxed), 80, "{round}");
    }
    let counted = signer.recoveries();
    assert!(counted.sessions >= 3, "{counted:?}");
    assert_eq!(counted.modules, 0, "{counted:?}");
}
