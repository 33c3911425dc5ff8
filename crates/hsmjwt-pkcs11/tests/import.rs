//! `import_key` and `delete_key`: keys made in software go into the token as sign-only,
//! sensitive, not extractable objects and sign as the software key; what an unfinished
//! import made is removed; deletion takes a key's objects, and only one key's. Also the
//! key templates of `generate_key_pair`, and a key without a public key object.
//!
//! Its own test binary and token, its tests one at a time: they make and remove objects
//! and run `pkcs11-tool` between, and SoftHSM 2.6.1 fails a look-up that overlaps a
//! creation (in this process) or a rewrite of the token's file (by another process).
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`: the first test makes the token and runs
//! this binary again with it set (no `HSMJWT_PIN`: PINs come from the URIs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use hsmjwt_core::{Algorithm, Signer as _, Verifier as _};
use hsmjwt_pkcs11::{
    DeleteOptions, Error, ImportOptions, ObjectKind, Pkcs11Signer, Pkcs11Uri, SignerOptions,
    TokenAccess, delete_key, generate_key_pair, import_key,
};
use hsmjwt_soft::{KeySpec, PrivateKey, SoftVerifier};
use hsmjwt_testkit::softhsm::{self, Builder, Login, PIN, Rerun, SoftHsm};

/// The token of these tests.
const IMPORT: &str = "hsmjwt-import";

struct Fixture {
    module: PathBuf,
    hsm: SoftHsm,
}

impl Fixture {
    /// A URI for `object` on `token`, with the module and the PIN.
    fn uri(&self, token: &str, object: &str) -> Pkcs11Uri {
        Pkcs11Uri::new()
            .with_token(token)
            .with_object(object)
            .with_module_path(&self.module)
            .with_pin_value(PIN.into())
    }

    /// Runs `pkcs11-tool` on a token, logged in.
    fn pkcs11_tool(&self, token: &str, args: &[&str]) {
        self.hsm
            .pkcs11_tool(token, Login::User, args)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The fixture and the lock that runs one test at a time; `None` (after a skip line) when
/// SoftHSM2 is missing and not required.
fn fixture() -> Option<(&'static Fixture, MutexGuard<'static, ()>)> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    let f = FIXTURE
        .get_or_init(|| {
            let hsm = Builder::new(softhsm::installed_or_skip()?)
                .temp_in(env!("CARGO_TARGET_TMPDIR"))
                .prefix("hsmjwt-pkcs11-import-")
                .token(IMPORT)
                // The parent never returns from here.
                .build_in_child(&Rerun::same_args().env_remove("HSMJWT_PIN"))
                .expect("the SoftHSM2 fixture");
            Some(Fixture {
                module: hsm.module().to_owned(),
                hsm,
            })
        })
        .as_ref()?;
    Some((f, SERIAL.lock().unwrap_or_else(PoisonError::into_inner)))
}

/// The fixture's module, with no PIN source: PINs come from the URIs.
fn access(f: &Fixture) -> TokenAccess {
    TokenAccess::new().with_module(&f.module)
}

macro_rules! fixture_or_skip {
    () => {
        match fixture() {
            Some(f) => f,
            None => return,
        }
    };
}

/// The boolean attributes of every object with `label` on the import token, by class.
fn flags(f: &Fixture, label: &str) -> Vec<(ObjectClass, Vec<Attribute>)> {
    flags_on(f, IMPORT, label)
}

/// The slot of `token`, asked again while SoftHSM fails to read token information (it
/// does while a process rewrites the token's file).
fn slot_of(f: &Fixture, token: &str) -> cryptoki::slot::Slot {
    let ctx = hsmjwt_pkcs11::shared_context(&f.module).expect("shared context");
    for _ in 0..100 {
        let found = ctx.get_slots_with_token().ok().and_then(|slots| {
            slots
                .into_iter()
                .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token))
        });
        if let Some(slot) = found {
            return slot;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("token `{token}` not found");
}

/// Keeps one session on `token` open and logged in for the rest of the test binary: a
/// SoftHSM login rewrites the token's file, and another process (`pkcs11-tool`) that reads
/// the token at that instant fails; with the login kept, the library and these helpers do
/// not log in again and again.
fn keep_logged_in(f: &Fixture, token: &str) {
    static KEPT: Mutex<Vec<(String, cryptoki::session::Session)>> = Mutex::new(Vec::new());
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.iter().any(|(t, _)| t == token) {
        return;
    }
    let ctx = hsmjwt_pkcs11::shared_context(&f.module).expect("shared context");
    let session = ctx.open_ro_session(slot_of(f, token)).expect("session");
    match session.login(UserType::User, Some(&AuthPin::new(PIN.into()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login to `{token}`: {e}"),
    }
    kept.push((token.to_owned(), session));
}

/// Waits (up to 5 s) until this process sees `count` objects with `label` on the import
/// token: objects another process made or removed show up here a moment later.
fn wait_for(f: &Fixture, label: &str, count: usize) {
    for _ in 0..250 {
        if flags(f, label).len() == count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("`{label}`: {} objects, not {count}", flags(f, label).len());
}

/// The boolean attributes of every object with `label` on `token`, by class.
fn flags_on(f: &Fixture, token: &str, label: &str) -> Vec<(ObjectClass, Vec<Attribute>)> {
    keep_logged_in(f, token);
    let ctx = hsmjwt_pkcs11::shared_context(&f.module).expect("shared context");
    let session = ctx.open_ro_session(slot_of(f, token)).expect("session");
    let handles = session
        .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
        .expect("find");
    handles
        .into_iter()
        .map(|h| {
            let attrs = session
                .get_attributes(
                    h,
                    &[
                        AttributeType::Class,
                        AttributeType::Token,
                        AttributeType::Private,
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::Sign,
                        AttributeType::Decrypt,
                        AttributeType::Unwrap,
                        AttributeType::Derive,
                        AttributeType::Local,
                        AttributeType::Id,
                        AttributeType::Verify,
                        AttributeType::Encrypt,
                        AttributeType::Wrap,
                    ],
                )
                .expect("attributes");
            let class = attrs
                .iter()
                .find_map(|a| match a {
                    Attribute::Class(c) => Some(*c),
                    _ => None,
                })
                .expect("class");
            (class, attrs)
        })
        .collect()
}

fn has(attrs: &[Attribute], want: &Attribute) -> bool {
    attrs.iter().any(|a| a == want)
}

#[test]
fn imported_keys_are_sign_only_sensitive_and_sign_as_the_software_key() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    let specs = [
        ("imp-rsa", KeySpec::Rsa(2048), Algorithm::PS256),
        ("imp-p256", KeySpec::P256, Algorithm::ES256),
        ("imp-p384", KeySpec::P384, Algorithm::ES384),
        ("imp-p521", KeySpec::P521, Algorithm::ES512),
        ("imp-ed25519", KeySpec::Ed25519, Algorithm::EdDSA),
    ];
    for (i, (label, spec, alg)) in specs.into_iter().enumerate() {
        let key = PrivateKey::generate(spec).unwrap();
        let id = vec![0x40, u8::try_from(i).unwrap()];
        let uri = f.uri(IMPORT, label).with_id(id.clone());
        let options = ImportOptions::default().with_access(access(f));
        let imported = import_key(&uri, &key.material().unwrap(), &options)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(imported.label, label);
        assert_eq!(imported.id_bytes, id);
        assert!(!imported.certificate);

        let objects = flags(f, label);
        assert_eq!(objects.len(), 2, "{label}: a private and a public key");
        let (_, private) = objects
            .iter()
            .find(|(c, _)| *c == ObjectClass::PRIVATE_KEY)
            .expect("a private key");
        for want in [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Local(false),
            Attribute::Id(id.clone()),
        ] {
            assert!(has(private, &want), "{label}: {want:?} in {private:?}");
        }

        // The token signs as the software key: verified with the software public key.
        let signer = Pkcs11Signer::open(
            &imported.uri_from(&uri),
            SignerOptions::default()
                .with_algorithm(alg)
                .with_access(access(f)),
        )
        .unwrap();
        assert_eq!(
            signer.public_key().params,
            key.public_jwk().params,
            "{label}"
        );
        let sig = signer.sign(b"imported").unwrap();
        SoftVerifier::new(key.public_key(), alg)
            .unwrap()
            .verify(b"imported", &sig)
            .unwrap_or_else(|e| panic!("{label}: {e}"));

        // The same label or id again: refused, nothing added.
        let again = import_key(&uri, &key.material().unwrap(), &options).unwrap_err();
        assert!(matches!(again, Error::KeyExists { .. }), "{again:?}");
        assert_eq!(flags(f, label).len(), 2);
    }
}

#[test]
fn a_certificate_goes_beside_the_key_and_delete_takes_all_three() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let params = hsmjwt_soft::CertificateParams::new("CN=imported".parse().unwrap());
    let signer = hsmjwt_soft::SoftSigner::new(
        PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap(),
        None,
    )
    .unwrap();
    let cert = hsmjwt_soft::self_signed(&signer, &params, hsmjwt_core::NumericDate::now()).unwrap();
    let uri = f.uri(IMPORT, "imp-cert");
    let options = ImportOptions::default()
        .with_access(access(f))
        .with_certificate(cert.der().to_vec());
    let imported = import_key(&uri, &key.material().unwrap(), &options).unwrap();
    assert!(imported.certificate);
    let objects = flags(f, "imp-cert");
    assert_eq!(objects.len(), 3, "{objects:#?}");
    assert!(objects.iter().any(|(c, _)| *c == ObjectClass::CERTIFICATE));

    // Deleting: shown first; declined means nothing removed.
    let options = DeleteOptions { access: access(f) };
    let declined = delete_key(&uri, &options, |found| {
        assert_eq!(found.objects.len(), 3);
        assert_eq!(found.objects[0].kind, ObjectKind::PrivateKey);
        false
    })
    .unwrap();
    assert!(!declined.deleted);
    assert_eq!(flags(f, "imp-cert").len(), 3);
    let deleted = delete_key(&uri, &options, |_| true).unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.found.objects.len(), 3);
    assert!(flags(f, "imp-cert").is_empty());
    let gone = delete_key(&uri, &options, |_| true).unwrap_err();
    assert!(matches!(gone, Error::KeyNotFound { .. }), "{gone:?}");
}

#[test]
fn delete_refuses_more_than_one_key_and_a_uri_without_a_key() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    let options = ImportOptions::default().with_access(access(f));
    for (label, id) in [("twin-a", 0x51u8), ("twin-b", 0x52)] {
        let key = PrivateKey::generate(KeySpec::P256).unwrap();
        import_key(
            &f.uri(IMPORT, label).with_id(vec![id]),
            &key.material().unwrap(),
            &options,
        )
        .unwrap();
    }
    let delete = DeleteOptions { access: access(f) };
    let never = |_: &hsmjwt_pkcs11::KeyObjects| -> bool { panic!("nothing may be offered") };
    // A token-only URI names no key.
    let token_only = f.uri(IMPORT, "x").token_only().with_pin_value(PIN.into());
    assert!(matches!(
        delete_key(&token_only, &delete, never),
        Err(Error::NoKeyNamed)
    ));
    // Two keys share neither label nor id, but a type-only search would match both: the
    // URI must select one. Here `object=twin-a` does, and takes only twin-a's objects.
    let deleted = delete_key(&f.uri(IMPORT, "twin-a"), &delete, |found| {
        found
            .objects
            .iter()
            .all(|o| o.label.as_deref() == Some("twin-a"))
    })
    .unwrap();
    assert!(deleted.deleted);
    assert_eq!(flags(f, "twin-b").len(), 2, "the other key stays");

    // Two private keys with one label (another tool made the second): refused.
    let keygen = |label: &str, id: &str| {
        f.pkcs11_tool(
            IMPORT,
            &[
                "--keypairgen",
                "--key-type",
                "EC:prime256v1",
                "--label",
                label,
                "--id",
                id,
            ],
        );
    };
    keygen("twin-b", "53");
    wait_for(f, "twin-b", 4);
    let ambiguous = delete_key(&f.uri(IMPORT, "twin-b"), &delete, never).unwrap_err();
    assert!(
        matches!(ambiguous, Error::AmbiguousKey { count: 2, .. }),
        "{ambiguous:?}"
    );
    // Two private keys with one id under other labels: deleting one by label would take
    // the other's objects by id, so it is refused too.
    keygen("twin-d", "54");
    keygen("twin-e", "54");
    wait_for(f, "twin-e", 2);
    wait_for(f, "twin-d", 2);
    let shared = delete_key(&f.uri(IMPORT, "twin-d"), &delete, never).unwrap_err();
    assert!(
        matches!(shared, Error::AmbiguousKey { count: 2, .. }),
        "{shared:?}"
    );
    assert!(shared.to_string().contains("id 54"), "{shared}");
    assert_eq!(flags(f, "twin-d").len(), 2);
}

#[test]
fn an_import_that_does_not_finish_leaves_nothing() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    // A certificate that does not parse is refused before the token is touched.
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let options = ImportOptions::default()
        .with_access(access(f))
        .with_certificate(b"not a certificate".to_vec());
    let e = import_key(
        &f.uri(IMPORT, "imp-junk"),
        &key.material().unwrap(),
        &options,
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidCertificate(_)), "{e:?}");
    assert!(flags(f, "imp-junk").is_empty());
}

/// An EC or Ed25519 private key whose public key object is gone signs with the point of its
/// certificate (same id); without either, the error says where the point was looked for.
#[test]
fn an_ec_key_without_a_public_key_object_takes_its_point_from_the_certificate() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    for (label, id, spec, alg) in [
        ("nopub-p384", "61", KeySpec::P384, Algorithm::ES384),
        ("nopub-ed", "62", KeySpec::Ed25519, Algorithm::EdDSA),
        ("nopub-bare", "63", KeySpec::P256, Algorithm::ES256),
    ] {
        let key = PrivateKey::generate(spec).unwrap();
        let mut options = ImportOptions::default().with_access(access(f));
        let with_cert = label != "nopub-bare";
        if with_cert {
            let signer = hsmjwt_soft::SoftSigner::new(
                PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap(),
                None,
            )
            .unwrap();
            let params =
                hsmjwt_soft::CertificateParams::new(format!("CN={label}").parse().unwrap());
            let cert = hsmjwt_soft::self_signed(&signer, &params, hsmjwt_core::NumericDate::now())
                .unwrap();
            options = options.with_certificate(cert.der().to_vec());
        }
        let uri = f
            .uri(IMPORT, label)
            .with_id(vec![u8::from_str_radix(id, 16).unwrap()]);
        import_key(&uri, &key.material().unwrap(), &options).unwrap();
        f.pkcs11_tool(IMPORT, &["--delete-object", "--type", "pubkey", "--id", id]);
        wait_for(f, label, if with_cert { 2 } else { 1 });
        assert!(
            !flags(f, label)
                .iter()
                .any(|(c, _)| *c == ObjectClass::PUBLIC_KEY),
            "{label}: the public key object is gone"
        );
        let opened = Pkcs11Signer::open(
            &f.uri(IMPORT, label),
            SignerOptions::default().with_access(access(f)),
        );
        if !with_cert {
            let e = opened.unwrap_err();
            assert!(
                e.to_string().contains("no certificate with its id"),
                "{label}: {e}"
            );
            continue;
        }
        let signer = opened.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(
            signer.public_key().params,
            key.public_jwk().params,
            "{label}"
        );
        let sig = signer.sign(b"no public key object").unwrap();
        SoftVerifier::new(key.public_key(), alg)
            .unwrap()
            .verify(b"no public key object", &sig)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

/// `generate_key_pair` states only what matters in its template (so that tpm2-pkcs11 takes
/// it), then takes the other uses away where the module lets it: on SoftHSM the keys end
/// up sign-only and verify-only.
#[test]
fn generated_keys_are_sign_only_on_softhsm() {
    let (f, _serial) = fixture_or_skip!();
    keep_logged_in(f, IMPORT);
    for (label, alg) in [
        ("gen-rsa", Algorithm::PS256),
        ("gen-p256", Algorithm::ES256),
        ("gen-p521", Algorithm::ES512),
        ("gen-ed25519", Algorithm::EdDSA),
    ] {
        generate_key_pair(&f.uri(IMPORT, label), alg, None).unwrap();
        let objects = flags(f, label);
        let (_, private) = objects
            .iter()
            .find(|(c, _)| *c == ObjectClass::PRIVATE_KEY)
            .expect("a private key");
        for want in [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Local(true),
        ] {
            assert!(has(private, &want), "{label}: {want:?} in {private:?}");
        }
        let (_, public) = objects
            .iter()
            .find(|(c, _)| *c == ObjectClass::PUBLIC_KEY)
            .expect("a public key");
        for want in [
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
        ] {
            assert!(has(public, &want), "{label}: {want:?} in {public:?}");
        }
    }
}
