//! The public half of a key without a PIN: `public_key` reads public key objects, and
//! certificate objects when the public key object is gone, without logging in.

use hsmjwt_core::{Algorithm, Jwk, Signer};
use hsmjwt_pkcs11::{Error, ObjectType, Pkcs11Signer, Pkcs11Uri, SignerOptions, list, public_key};
use hsmjwt_soft::PublicKey;

use crate::fixture::{Fixture, IMPORTED, MAIN, PUBLIC, PUBLIC_PAIR};
use crate::{access, fixture_or_skip};

fn on(token: &str, label: &str, id: &str) -> Pkcs11Uri {
    let id = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).expect("hex id"))
        .collect::<Vec<u8>>();
    Pkcs11Uri::new()
        .with_token(token)
        .with_object(label)
        .with_id(id)
}

/// The public key object's key, as `pkcs11-tool` reads it (no login).
fn read_by_the_tool(f: &Fixture, token: &str, id: &str) -> Jwk {
    let der = f
        .read_with_pkcs11_tool(token, &["--read-object", "--type", "pubkey", "--id", id])
        .expect("pkcs11-tool reads the public key");
    PublicKey::from_der(&der).expect("SPKI").jwk()
}

/// Whether this process is logged in to `token` (login is per process).
fn logged_in(f: &Fixture, token: &str) -> bool {
    let inventory = list(Some(&Pkcs11Uri::new().with_token(token)), &access(f)).expect("list");
    inventory.slots[0].token.as_ref().expect("token").logged_in
}

#[test]
fn public_objects_and_certificates_are_read_without_a_pin() {
    let f = fixture_or_skip!();
    let access = access(f);
    let (label, id) = PUBLIC_PAIR;
    let expected = read_by_the_tool(f, PUBLIC, id);
    let pair = on(PUBLIC, label, id);

    // `type=public`, as `hsm list` prints it, and no type at all: no PIN anywhere.
    let public = pair.clone().with_object_type(ObjectType::Public);
    assert_eq!(public_key(&public, &access).expect("type=public"), expected);
    assert_eq!(public_key(&pair, &access).expect("no type"), expected);
    let by_label = Pkcs11Uri::new().with_token(PUBLIC).with_object(label);
    assert_eq!(public_key(&by_label, &access).expect("label"), expected);

    // The imported key has no public key object: its certificate (same id) gives the key.
    let certificate = PublicKey::load(&f.imported_certificate)
        .expect("the certificate")
        .jwk();
    let (label, id) = IMPORTED;
    let imported = on(PUBLIC, label, id);
    for uri in [
        imported.clone().with_object_type(ObjectType::Public),
        imported.clone().with_object_type(ObjectType::Cert),
        imported.clone(),
    ] {
        assert_eq!(
            public_key(&uri, &access).expect("certificate"),
            certificate,
            "{uri}"
        );
    }

    // The private key needs the PIN, and nobody gives one.
    let e = public_key(&pair.with_object_type(ObjectType::Private), &access)
        .expect_err("no PIN for the private key");
    assert!(matches!(e, Error::NoPin { .. }), "{e:?}");
    // None of this logged in.
    assert!(!logged_in(f, PUBLIC));
}

#[test]
fn with_a_pin_at_hand_a_uri_without_type_reads_the_private_key() {
    let f = fixture_or_skip!();
    let uri = f.uri(MAIN, "tool-p256");
    let signer = Pkcs11Signer::open(&uri, SignerOptions::default()).expect("open");
    let expected = Jwk::new(signer.public_key().params.clone());
    assert_eq!(
        public_key(&uri, &access(f)).expect("no type, PIN"),
        expected
    );
    let private = uri.with_object_type(ObjectType::Private);
    assert_eq!(
        public_key(&private, &access(f)).expect("type=private"),
        expected
    );
    // The JWK is the key alone: no algorithm, key id or use.
    assert_eq!(
        (expected.alg, expected.kid, expected.use_),
        (None, None, None)
    );
    assert_eq!(signer.algorithm(), Algorithm::ES256);
}

#[test]
fn missing_and_ambiguous_public_keys_are_refused() {
    let f = fixture_or_skip!();
    let access = access(f);
    let nowhere = Pkcs11Uri::new()
        .with_token(PUBLIC)
        .with_object("no-such-key")
        .with_object_type(ObjectType::Public);
    match public_key(&nowhere, &access) {
        Err(e @ Error::KeyNotFound { .. }) => assert_eq!(
            e.to_string(),
            format!("no public key or certificate matches label `no-such-key` on token `{PUBLIC}`")
        ),
        other => panic!("{other:?}"),
    }
    // The main token holds many public keys: a URI naming none of them is ambiguous.
    let any = Pkcs11Uri::new()
        .with_token(MAIN)
        .with_object_type(ObjectType::Public);
    match public_key(&any, &access) {
        Err(
            e @ Error::AmbiguousKey {
                what: "public keys",
                ..
            },
        ) => {
            assert!(e.to_string().contains("add `object=` or `id=`"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let e = public_key(&any.with_object_type(ObjectType::Data), &access).expect_err("data");
    assert!(matches!(e, Error::InvalidUri { .. }), "{e:?}");
}
