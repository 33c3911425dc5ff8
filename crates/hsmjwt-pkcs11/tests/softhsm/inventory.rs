//! Key generation refusals and extra sizes, and the `hsmjwt hsm list` inventory.

use hsmjwt_core::{Algorithm, Header, Signer, encode};
use hsmjwt_pkcs11::{
    Error, KeyClass, NotLoggedIn, Pkcs11Signer, Pkcs11Uri, SignerOptions, generate_key_pair, list,
};

use crate::fixture::{MAIN, NO_LOGIN, RECOVER};
use crate::sign::{claims, verify_both};
use crate::{access, fixture_or_skip};

#[test]
fn generation_refuses_taken_labels_and_ids_and_bad_sizes() {
    let f = fixture_or_skip!();
    let e = generate_key_pair(&f.uri(MAIN, "tool-rsa"), Algorithm::RS256, None)
        .expect_err("label taken");
    assert!(
        matches!(&e, Error::KeyExists { searched, .. } if searched.contains("tool-rsa")),
        "{e:?}"
    );

    let e = generate_key_pair(
        &f.uri(MAIN, "fresh").with_id(vec![0x01]),
        Algorithm::ES256,
        None,
    )
    .expect_err("id taken");
    assert!(
        matches!(&e, Error::KeyExists { searched, .. } if searched.contains("id 01")),
        "{e:?}"
    );

    let e = generate_key_pair(&f.uri(MAIN, "rsa-1024"), Algorithm::RS256, Some(1024))
        .expect_err("1024 bits");
    assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    let e = generate_key_pair(&f.uri(MAIN, "ec-bits"), Algorithm::ES256, Some(2048))
        .expect_err("bits for EC");
    assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    let e = generate_key_pair(&f.uri(MAIN, "ed-bits"), Algorithm::EdDSA, Some(2048))
        .expect_err("bits for EdDSA");
    assert!(
        matches!(&e, Error::InvalidRequest(m) if m.contains("Ed25519")),
        "{e:?}"
    );

    let no_label = Pkcs11Uri::new()
        .with_token(MAIN)
        .with_module_path(&f.module)
        .with_pin_value("1234".into());
    let e = generate_key_pair(&no_label, Algorithm::ES256, None).expect_err("no label");
    assert!(
        matches!(&e, Error::InvalidUri { attribute: Some(a), .. } if a == "object"),
        "{e:?}"
    );
}

#[test]
fn generated_rsa_3072_with_an_explicit_id_signs() {
    let f = fixture_or_skip!();
    let uri = f.uri(MAIN, "lib-rsa-3072").with_id(vec![0xca, 0xfe]);
    let jwk = generate_key_pair(&uri, Algorithm::PS384, Some(3072)).expect("generate");
    assert_eq!(jwk.params.bits(), 3072);
    let by_id = Pkcs11Uri::new()
        .with_token(MAIN)
        .with_id(vec![0xca, 0xfe])
        .with_module_path(&f.module)
        .with_pin_value("1234".into());
    let signer = Pkcs11Signer::open(
        &by_id,
        SignerOptions::default().with_algorithm(Algorithm::PS384),
    )
    .expect("open");
    assert_eq!(signer.public_key().params, jwk.params);
    let token = encode(&Header::jwt(Algorithm::PS384), &claims(), &signer).expect("sign");
    verify_both(&token, signer.public_key(), Algorithm::PS384);
}

#[test]
fn list_after_login_shows_keys_and_their_algorithms() {
    let f = fixture_or_skip!();
    let uri = Pkcs11Uri::new()
        .with_token(MAIN)
        .with_pin_value("1234".into());
    let inventory = list(Some(&uri), &access(f)).expect("list");
    assert_eq!(inventory.slots.len(), 1, "only the URI's token");
    let token = inventory.slots[0].token.as_ref().expect("token");
    assert_eq!(token.label, MAIN);
    assert!(token.logged_in && token.flags.initialized && token.flags.login_required);
    let key = |label: &str, class: KeyClass| {
        token
            .keys
            .iter()
            .find(|k| k.label.as_deref() == Some(label) && k.class == class)
            .unwrap_or_else(|| panic!("{label} {class} is listed: {:#?}", token.keys))
    };
    let rsa = key("tool-rsa", KeyClass::Private);
    assert_eq!(
        (rsa.key_type.as_str(), rsa.bits, rsa.id.as_str()),
        ("RSA", Some(2048), "01")
    );
    assert_eq!(rsa.algorithms.len(), 6);
    let p384 = key("tool-p384", KeyClass::Private);
    assert_eq!(
        (p384.curve.as_deref(), p384.algorithms.as_slice()),
        (Some("P-384"), &[Algorithm::ES384][..])
    );
    assert_eq!(
        key("lib-p256", KeyClass::Private).algorithms,
        [Algorithm::ES256]
    );
    for label in ["tool-p521", "lib-p521"] {
        let p521 = key(label, KeyClass::Private);
        assert_eq!(
            (
                p521.key_type.as_str(),
                p521.bits,
                p521.curve.as_deref(),
                p521.algorithms.as_slice()
            ),
            ("EC", Some(521), Some("P-521"), &[Algorithm::ES512][..]),
            "{label}"
        );
    }
    for label in ["tool-ed25519", "lib-ed25519"] {
        let ed = key(label, KeyClass::Private);
        assert_eq!(
            (
                ed.key_type.as_str(),
                ed.bits,
                ed.curve.as_deref(),
                ed.algorithms.as_slice()
            ),
            (
                "EC_EDWARDS",
                Some(256),
                Some("Ed25519"),
                &[Algorithm::EdDSA][..]
            ),
            "{label}"
        );
        let public = key(label, KeyClass::Public);
        assert_eq!(
            (public.key_type.as_str(), public.curve.as_deref()),
            ("EC_EDWARDS", Some("Ed25519"))
        );
        assert!(public.algorithms.is_empty());
    }
    let public = key("tool-p256", KeyClass::Public);
    assert!(public.algorithms.is_empty());
    // How the private keys are protected: made in the token, never exportable.
    for label in ["tool-rsa", "lib-p256"] {
        let p = key(label, KeyClass::Private)
            .protection
            .unwrap_or_else(|| panic!("{label} has its protection listed"));
        assert_eq!(
            (
                p.sensitive,
                p.extractable,
                p.always_sensitive,
                p.never_extractable,
                p.local
            ),
            (Some(true), Some(false), Some(true), Some(true), Some(true)),
            "{label}"
        );
    }
    assert_eq!(public.protection, None);
    // The key URI it shows opens the key.
    let shown: Pkcs11Uri = rsa.uri.parse().expect("listed URI parses");
    let signer = Pkcs11Signer::open(
        &shown
            .with_module_path(&f.module)
            .with_pin_value("1234".into()),
        SignerOptions::default(),
    )
    .expect("open the listed URI");
    assert_eq!(signer.algorithm(), Algorithm::RS256);

    let text = inventory.to_string();
    assert!(
        text.contains("token `hsmjwt-main`") && text.contains("tool-rsa") && text.contains("RS256"),
        "{text}"
    );
    assert!(
        text.contains("EC_EDWARDS Ed25519, signs EdDSA") && text.contains("EC P-521, signs ES512"),
        "{text}"
    );
    // The PIN is not shown, as a value of its own (random slot numbers and serials may
    // contain its digits).
    let shows_pin = |t: &str| {
        t.to_ascii_lowercase().contains("pin-value")
            || t.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == crate::fixture::PIN)
    };
    assert!(!shows_pin(&text), "{text}");
    assert!(shows_pin("pkcs11:token=x?pin-value=1234") && shows_pin("PIN: 1234"));
    assert!(!shows_pin("slot 1631234656"));
    let json = serde_json::to_value(&inventory).expect("serializes");
    assert!(!shows_pin(&json.to_string()), "{json}");
    assert_eq!(json["slots"][0]["token"]["label"], MAIN);
    let listed = json["slots"][0]["token"]["keys"].as_array().expect("keys");
    let rsa_json = listed
        .iter()
        .find(|k| k["label"] == "tool-rsa" && k["class"] == "private")
        .expect("tool-rsa in JSON");
    assert_eq!(
        rsa_json["protection"],
        serde_json::json!({
            "sensitive": true,
            "extractable": false,
            "always_sensitive": true,
            "never_extractable": true,
            "local": true,
            "always_authenticate": false,
        })
    );
    assert!(
        text.contains("sensitive, not extractable, always sensitive, never extractable, generated in the token"),
        "{text}"
    );
    assert!(
        json["slots"][0]["token"]["keys"]
            .as_array()
            .is_some_and(|k| k.len() >= 20),
        "{json}"
    );
}

#[test]
fn list_without_pin_shows_public_keys_only() {
    let f = fixture_or_skip!();
    let uri = Pkcs11Uri::new().with_token(NO_LOGIN);
    let inventory = list(Some(&uri), &access(f)).expect("list");
    let token = inventory.slots[0].token.as_ref().expect("token");
    assert!(!token.logged_in);
    assert_eq!(token.not_logged_in, Some(NotLoggedIn::NoPin));
    assert_eq!(token.note.as_deref(), Some(NotLoggedIn::NoPin.note()));
    assert!(
        token.keys.iter().all(|k| k.class == KeyClass::Public),
        "{:#?}",
        token.keys
    );
    assert!(
        token
            .keys
            .iter()
            .any(|k| k.label.as_deref() == Some("nologin-p256"))
    );

    // Without a URI every slot shows, the free one included, and no login is attempted.
    let all = list(None, &access(f)).expect("list all");
    let labels: Vec<_> = all
        .slots
        .iter()
        .filter_map(|s| s.token.as_ref())
        .map(|t| t.label.as_str())
        .collect();
    for label in [MAIN, NO_LOGIN, RECOVER] {
        assert!(labels.contains(&label), "{labels:?}");
    }
    assert!(
        all.slots
            .iter()
            .any(|s| s.token.as_ref().is_some_and(|t| !t.flags.initialized))
    );
    // Several tokens and no URI: a PIN source in the options would not be used.
    let no_login = all
        .slots
        .iter()
        .filter_map(|s| s.token.as_ref())
        .find(|t| t.label == NO_LOGIN)
        .expect("the no-login token");
    assert_eq!(no_login.not_logged_in, Some(NotLoggedIn::NotNamed));
    for note in [NotLoggedIn::NoPin, NotLoggedIn::NotNamed].map(NotLoggedIn::note) {
        assert!(
            !note.contains("HSMJWT_PIN") && !note.contains("hsmjwt "),
            "{note}"
        );
    }
}
