//! `hsmjwt::key::import_into_token` on SoftHSM2: the probe signature proves the token signs
//! as the imported key, and an import whose probe fails leaves nothing behind.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`: the test makes a token with
//! `hsmjwt_testkit`'s fixture and runs itself again in a child with the token's
//! environment. Without SoftHSM2 it prints a skip line, unless `CI` or
//! `HSMJWT_REQUIRE_SOFTHSM=1` is set: then it fails.

use hsmjwt::core::{PrivateKeyMaterial, SecretParts};
use hsmjwt::key::{KeyError, import_into_token, import_material_into_token};
use hsmjwt::pkcs11::{DeleteOptions, Error as P11Error, Pkcs11Uri, TokenAccess, delete_key};
use hsmjwt::soft::{CertificateParams, KeySpec, PrivateKey, SoftSigner, self_signed};
use hsmjwt::{Algorithm, NumericDate, Signer as _};
use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};
use zeroize::Zeroizing;

const TOKEN: &str = "import-test";

#[test]
fn imports_are_probed_and_a_failed_probe_leaves_nothing() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(TOKEN)
        .run_in_child(
            "import::imports_are_probed_and_a_failed_probe_leaves_nothing",
            |_, rerun| rerun,
            child,
        )
        .unwrap();
}

fn uri(hsm: &SoftHsm, object: &str) -> Pkcs11Uri {
    Pkcs11Uri::new()
        .with_token(TOKEN)
        .with_object(object)
        .with_pin_value(hsm.pin().clone())
}

/// Whether any object of `label` is left: deleting finds none.
fn nothing_left(hsm: &SoftHsm, label: &str) -> bool {
    let access = TokenAccess::new().with_module(hsm.module());
    matches!(
        delete_key(&uri(hsm, label), &DeleteOptions { access }, |_| false),
        Err(P11Error::KeyNotFound { .. })
    )
}

fn child(hsm: &SoftHsm) {
    // A consistent key with its certificate: imported, and the HSM key signs as it does.
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let signer = SoftSigner::new(
        PrivateKey::from_pem(&key.to_pkcs8_pem().unwrap()).unwrap(),
        None,
    )
    .unwrap();
    let cert = self_signed(
        &signer,
        &CertificateParams::new("CN=import".parse().unwrap()),
        NumericDate::now(),
    )
    .unwrap();
    let imported = import_into_token(&uri(hsm, "good"), &key, Some(&cert)).unwrap();
    assert!(imported.certificate);
    let hsm_signer = hsmjwt::key::KeySource::Pkcs11(Box::new(imported.uri_from(&uri(hsm, "good"))))
        .open_signer(None)
        .unwrap();
    assert_eq!(hsm_signer.algorithm(), Algorithm::ES256);

    // A certificate of another key: refused before the token is touched.
    let other = PrivateKey::generate(KeySpec::P256).unwrap();
    let e = import_into_token(&uri(hsm, "wrong-cert"), &other, Some(&cert)).unwrap_err();
    assert!(
        matches!(e, KeyError::ImportCertificateMismatch { .. }),
        "{e:?}"
    );
    assert!(nothing_left(hsm, "wrong-cert"));

    // The secret of one key with the public half of another: the token takes both
    // objects, the probe signature does not verify, and the objects are removed again.
    let a = PrivateKey::generate(KeySpec::P256).unwrap();
    let b = PrivateKey::generate(KeySpec::P256).unwrap();
    let a_material = a.material().unwrap();
    let SecretParts::Ec { d } = a_material.secret() else {
        panic!("EC parts");
    };
    let mixed = PrivateKeyMaterial::new(
        b.public_key().params().clone(),
        SecretParts::Ec {
            d: Zeroizing::new(d.to_vec()),
        },
    )
    .unwrap();
    let e =
        import_material_into_token(&uri(hsm, "mixed"), &mixed, b.public_key(), None).unwrap_err();
    assert!(
        matches!(e, KeyError::ImportProbe { removed: true, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("the objects it created were removed"),
        "{e}"
    );
    assert!(nothing_left(hsm, "mixed"));
}
