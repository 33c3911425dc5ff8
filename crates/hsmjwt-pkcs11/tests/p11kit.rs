//! Signing through p11-kit's remoting (`p11-kit server` in front of SoftHSM2,
//! `p11-kit-client.so` in this process): the closest thing to a network HSM that runs here.
//! p11-kit 0.24 forwards `CKM_RSA_PKCS_PSS` but not the `CKM_SHA*_RSA_PKCS_PSS` variants,
//! nor `CKM_EDDSA`: PS* must fall back on the raw mechanism over a digest computed here,
//! and EdDSA must be refused before signing, naming the mechanism.
//!
//! The test makes a SoftHSM2 token with `pkcs11-tool` keys, starts `p11-kit server` for it
//! (killed when the test ends), and runs itself again in a child with the server's address.
//! Without SoftHSM2 or p11-kit it prints a skip line, unless `CI` or
//! `HSMJWT_REQUIRE_SOFTHSM=1` is set: then it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use hsmjwt_core::{Algorithm, Signer as _, Verifier as _};
use hsmjwt_pkcs11::{Error, Pkcs11Signer, Pkcs11Uri, SignerOptions, TokenAccess, list};
use hsmjwt_soft::SoftVerifier;
use hsmjwt_testkit::p11kit::{self, ADDRESS_ENV, Server};
use hsmjwt_testkit::softhsm::{self, Builder, PIN, Rerun};

const TOKEN: &str = "remote";
const CLIENT_ENV: &str = "HSMJWT_TEST_P11KIT_CLIENT";
const SERVER_PID_ENV: &str = "HSMJWT_TEST_P11KIT_SERVER";

#[test]
fn pss_falls_back_on_the_raw_mechanism_and_eddsa_is_refused_by_name() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    if let Ok(client) = std::env::var(CLIENT_ENV) {
        return child(Path::new(&client));
    }
    let Some(client) = p11kit::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "rsa", "01", "rsa:2048")
        .key(TOKEN, "p256", "02", "EC:prime256v1")
        .key(TOKEN, "ed25519", "03", "EC:edwards25519")
        .build()
        .unwrap();
    let server = Server::start(&hsm, TOKEN).unwrap();
    let status = hsm
        .rerun(
            &Rerun::one_test("pss_falls_back_on_the_raw_mechanism_and_eddsa_is_refused_by_name")
                .env(ADDRESS_ENV, server.address())
                .env(CLIENT_ENV, &client)
                .env(SERVER_PID_ENV, server.pid().to_string())
                .env_remove("HSMJWT_PIN"),
        )
        .unwrap();
    assert!(status.success(), "the p11-kit child failed: {status}");
}

fn child(client: &Path) {
    let uri = |object: &str| {
        Pkcs11Uri::new()
            .with_token(TOKEN)
            .with_object(object)
            .with_module_path(client)
            .with_pin_value(PIN.into())
    };
    for (object, alg) in [
        ("rsa", Algorithm::RS256),
        ("rsa", Algorithm::RS512),
        ("rsa", Algorithm::PS256),
        ("rsa", Algorithm::PS384),
        ("rsa", Algorithm::PS512),
        ("p256", Algorithm::ES256),
    ] {
        let signer = Pkcs11Signer::open(&uri(object), SignerOptions::default().with_algorithm(alg))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let verifier = SoftVerifier::from_jwk(signer.public_key(), Some(alg)).unwrap();
        for message in [&b"through p11-kit"[..], b""] {
            let sig = signer
                .sign(message)
                .unwrap_or_else(|e| panic!("{alg} over p11-kit: {e}"));
            verifier
                .verify(message, &sig)
                .unwrap_or_else(|e| panic!("{alg}: the signature does not verify: {e}"));
        }
    }
    let e = Pkcs11Signer::open(&uri("ed25519"), SignerOptions::default()).unwrap_err();
    match &e {
        Error::MechanismMissing {
            algorithm, missing, ..
        } => {
            assert_eq!(*algorithm, Algorithm::EdDSA);
            assert_eq!(missing, &["CKM_EDDSA"]);
        }
        other => panic!("expected MechanismMissing, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        format!("token `{TOKEN}` cannot sign EdDSA: it offers none of CKM_EDDSA")
    );

    // The listing shows what the token offers, and the keys' algorithms follow it.
    let token = Pkcs11Uri::new()
        .with_token(TOKEN)
        .with_module_path(client)
        .with_pin_value(PIN.into());
    let inventory = list(Some(&token), &TokenAccess::new()).unwrap();
    let entry = inventory
        .slots
        .iter()
        .find_map(|s| s.token.as_ref())
        .expect("the remote token");
    let mechanisms = entry.mechanisms.as_ref().expect("p11-kit lists mechanisms");
    assert!(
        mechanisms.contains(&"CKM_RSA_PKCS_PSS".to_owned()),
        "{mechanisms:?}"
    );
    assert!(
        !mechanisms.contains(&"CKM_SHA256_RSA_PKCS_PSS".to_owned()),
        "{mechanisms:?}"
    );
    assert!(
        !mechanisms.contains(&"CKM_EDDSA".to_owned()),
        "{mechanisms:?}"
    );
    let algorithms = |label: &str| {
        entry
            .keys
            .iter()
            .find(|k| k.label.as_deref() == Some(label) && !k.algorithms.is_empty())
            .map(|k| k.algorithms.clone())
            .unwrap_or_default()
    };
    assert!(algorithms("rsa").contains(&Algorithm::PS256));
    assert_eq!(algorithms("p256"), [Algorithm::ES256]);
    assert!(algorithms("ed25519").is_empty(), "EdDSA is not offered");

    // The link to the server is cut (as a network blip or a restarted HSM would): the
    // signature in flight fails as `ModuleLost`, the module is initialized again, and
    // signing goes on, for every signer of the process.
    let server: u32 = std::env::var(SERVER_PID_ENV).unwrap().parse().unwrap();
    let rsa = Pkcs11Signer::open(&uri("rsa"), SignerOptions::default()).unwrap();
    let ec = Pkcs11Signer::open(&uri("p256"), SignerOptions::default()).unwrap();
    rsa.sign(b"before").unwrap();
    ec.sign(b"before").unwrap();
    assert!(
        p11kit::cut_clients(server).unwrap() >= 1,
        "no client to cut"
    );
    let e = rsa.try_sign(b"cut").unwrap_err();
    assert!(matches!(e, Error::ModuleLost { .. }), "{e:?}");
    for signer in [&rsa, &ec] {
        let verifier = SoftVerifier::from_jwk(signer.public_key(), None).unwrap();
        let start = std::time::Instant::now();
        let signature = loop {
            match signer.try_sign(b"after") {
                Ok(signature) => break signature,
                Err(e @ Error::ModuleLost { .. }) => {
                    assert!(
                        start.elapsed() < std::time::Duration::from_secs(10),
                        "signing did not come back: {e}"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => panic!("not a module loss: {e:?}"),
            }
        };
        verifier.verify(b"after", &signature).unwrap();
    }
}
