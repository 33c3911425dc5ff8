//! Where the PIN comes from: the URI's `pin-value` or `pin-source` first, then the options'
//! PIN source (a value, a file, a callback), asked only when a login is needed.

use std::sync::{Arc, Mutex};

use hsmjwt_core::{Algorithm, Header, encode};
use hsmjwt_pkcs11::{
    Error, PinRequest, PinSource, Pkcs11Signer, Pkcs11Uri, SignerOptions, TokenAccess, list,
};
use secrecy::SecretString;

use crate::fixture::{MAIN, NO_LOGIN, PIN};
use crate::sign::{claims, verify_both};
use crate::{access, fixture_or_skip};

type Asked = Arc<Mutex<Vec<PinRequest>>>;

/// A callback that answers `pin` and records what it was asked.
fn recording(pin: Option<&'static str>) -> (PinSource, Asked) {
    let asked = Asked::default();
    let log = Arc::clone(&asked);
    let callback = PinSource::callback(move |request: &PinRequest| {
        log.lock().unwrap().push(request.clone());
        Ok(pin.map(SecretString::from))
    });
    (callback, asked)
}

fn asked(log: &Asked) -> Vec<PinRequest> {
    log.lock().unwrap().clone()
}

fn open_with(uri: &Pkcs11Uri, pin: PinSource) -> Result<Pkcs11Signer, Error> {
    let access = TokenAccess::new().with_pin_source(pin);
    Pkcs11Signer::open(uri, SignerOptions::default().with_access(access))
}

/// On the token nobody logs in to, every PIN here is wrong: the token's refusal shows that a
/// login was tried with the PIN from the expected place (no PIN at all would be `NoPin`).
#[test]
fn the_uri_pin_comes_first_then_the_options_value_file_or_callback() {
    let f = fixture_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let wrong_file = dir.path().join("wrong-pin");
    std::fs::write(&wrong_file, "9999\n").unwrap();
    let uri = Pkcs11Uri::new()
        .with_token(NO_LOGIN)
        .with_object("nologin-p256")
        .with_module_path(&f.module);
    let wrong = |e: &Error| matches!(e, Error::PinIncorrect { token, .. } if token == NO_LOGIN);

    // The URI's pin-value and pin-source come before the options' source, which is not asked.
    let (callback, log) = recording(Some("9999"));
    for with_pin in [
        uri.clone().with_pin_value("9999".into()),
        uri.clone().with_pin_source(&wrong_file),
    ] {
        let e = open_with(&with_pin, callback.clone()).expect_err("wrong PIN");
        assert!(wrong(&e), "{with_pin}: {e:?}");
    }
    assert_eq!(asked(&log), []);
    // The URI's PIN file is read even when the options have a PIN.
    let e = open_with(
        &uri.clone().with_pin_source("/nonexistent/pin"),
        PinSource::value("9999"),
    )
    .expect_err("no PIN file");
    assert!(matches!(&e, Error::PinSource { .. }), "{e:?}");

    // Then the options' source: a value, a file, a callback (asked once, told that a human
    // may be asked; the PIN the token refused is not asked for again).
    for pin in [
        PinSource::value("9999"),
        PinSource::file(&wrong_file),
        callback,
    ] {
        let shown = format!("{pin:?}");
        let e = open_with(&uri, pin).expect_err("wrong PIN");
        assert!(wrong(&e), "{shown}: {e:?}");
        assert!(!shown.contains("9999"), "{shown}");
    }
    assert_eq!(asked(&log), [PinRequest::new(NO_LOGIN, true)]);

    // A callback with no PIN: no login.
    let (none, log) = recording(None);
    let e = open_with(&uri, none).expect_err("no PIN");
    assert!(matches!(&e, Error::NoPin { .. }), "{e:?}");
    assert_eq!(asked(&log), [PinRequest::new(NO_LOGIN, true)]);

    // A callback that fails: its error is the source.
    let failing = PinSource::callback(|_: &PinRequest| Err("the agent is gone".into()));
    let e = open_with(&uri, failing).expect_err("callback error");
    assert!(
        matches!(&e, Error::PinCallback { token, .. } if token == NO_LOGIN),
        "{e:?}"
    );
    assert_eq!(
        std::error::Error::source(&e)
            .map(ToString::to_string)
            .as_deref(),
        Some("the agent is gone")
    );
}

#[test]
fn the_callback_is_not_asked_when_no_login_is_needed() {
    let f = fixture_or_skip!();
    // While this signer lives, the application stays logged in to the token (login state is
    // per application and token).
    let holder =
        Pkcs11Signer::open(&f.uri(MAIN, "tool-p256"), SignerOptions::default()).expect("open");
    let (callback, log) = recording(Some(PIN));
    let with_callback = access(f).with_pin_source(callback);

    let uri = Pkcs11Uri::new().with_token(MAIN).with_object("tool-p384");
    let signer = Pkcs11Signer::open(
        &uri,
        SignerOptions::default().with_access(with_callback.clone()),
    )
    .expect("open while logged in");
    // Asked only for a PIN at hand (kept to log in again after a lost session): nobody is
    // prompted.
    assert_eq!(asked(&log), [PinRequest::new(MAIN, false)]);
    let token = encode(&Header::jwt(Algorithm::ES384), &claims(), &signer).expect("sign");
    verify_both(
        &token,
        hsmjwt_core::Signer::public_key(&signer),
        Algorithm::ES384,
    );

    // Listing a token that is logged in needs no PIN at all.
    let inventory = list(Some(&Pkcs11Uri::new().with_token(MAIN)), &with_callback).expect("list");
    assert!(
        inventory.slots[0]
            .token
            .as_ref()
            .is_some_and(|t| t.logged_in)
    );
    assert_eq!(asked(&log).len(), 1, "{:?}", asked(&log));

    // Without a token URI, with several tokens, the options' PIN is for none of them.
    let (quiet, quiet_log) = recording(None);
    list(None, &access(f).with_pin_source(quiet)).expect("list all");
    assert_eq!(asked(&quiet_log), []);

    // A token URI that names a token nobody is logged in to: asked, and a human may be.
    let (named, named_log) = recording(None);
    let inventory = list(
        Some(&Pkcs11Uri::new().with_token(NO_LOGIN)),
        &access(f).with_pin_source(named),
    )
    .expect("list");
    assert!(
        inventory.slots[0]
            .token
            .as_ref()
            .is_some_and(|t| !t.logged_in)
    );
    assert_eq!(asked(&named_log), [PinRequest::new(NO_LOGIN, true)]);
    drop(signer);
    drop(holder);
}
