//! The SoftHSM2 fixture itself: tokens made and found by label, keys made by `pkcs11-tool`
//! and by hsmjwt (in the re-run child), the child's status handed back, the folder gone
//! after the drop, kept folders reused.
//!
//! Skipped with a `SKIPPED:` line without SoftHSM2 and OpenSC, unless `CI` or
//! `HSMJWT_REQUIRE_SOFTHSM=1` is set: then they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt_core::{Algorithm, Signer as _};
use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};
use hsmjwt_testkit::softhsm::{self, Builder, KeyRequest, Login, Rerun, SoftHsm};
use hsmjwt_testkit::{BoxError, Error};

const TOKEN: &str = "testkit-main";
const OTHER: &str = "testkit-other";
const TOOL_KEY: &str = "tool-p256";
const LIB_KEY: &str = "lib-rsa";

/// The labels of the private keys on `token`, as `pkcs11-tool` lists them.
fn private_keys(hsm: &SoftHsm, token: &str) -> Vec<String> {
    let out = hsm
        .pkcs11_tool(token, Login::User, &["--list-objects", "--type", "privkey"])
        .unwrap();
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("label:"))
        .map(|l| l.trim().to_owned())
        .collect()
}

fn uri(key: &KeyRequest<'_>) -> Pkcs11Uri {
    Pkcs11Uri::new()
        .with_token(key.token())
        .with_object(key.label())
        .with_module_path(key.module())
        .with_pin_value(key.pin().clone())
}

#[test]
fn tokens_and_keys_both_ways_then_the_folder_is_gone() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let spec = Builder::new(installation).tokens([TOKEN, OTHER]).key(
        TOKEN,
        TOOL_KEY,
        "01",
        "EC:prime256v1",
    );
    if let Some(hsm) = spec.attach().unwrap() {
        return child(&hsm);
    }

    let hsm = spec.build().unwrap();
    let root = hsm.root().to_owned();
    assert!(hsm.conf().starts_with(&root));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&root) & 0o777, 0o700);
        assert_eq!(mode(&root.join("tokens")) & 0o777, 0o700);
        assert_eq!(mode(hsm.conf()) & 0o777, 0o600);
    }
    let mut labels = hsm.token_labels().unwrap();
    labels.sort();
    assert_eq!(labels, [TOKEN, OTHER]);
    assert!(hsm.reused_tokens().is_empty());
    assert_eq!(private_keys(&hsm, TOKEN), [TOOL_KEY]);
    assert!(private_keys(&hsm, OTHER).is_empty());
    assert!(matches!(
        hsm.pkcs11_tool("nope", Login::No, &["--list-objects"]),
        Err(Error::NoSuchToken(_))
    ));

    // This process lacks SOFTHSM2_CONF: a key made here would go to another token store.
    assert!(!hsm.env_is_set());
    let e = hsm
        .generate_key(TOKEN, "never", |_| Ok::<_, BoxError>(()))
        .unwrap_err();
    assert!(matches!(e, Error::WrongEnvironment { .. }), "{e}");

    let status = hsm
        .rerun(
            &Rerun::one_test("tokens_and_keys_both_ways_then_the_folder_is_gone")
                .env_remove("HSMJWT_PIN"),
        )
        .unwrap();
    assert!(status.success(), "the SoftHSM child failed: {status}");
    // The child's key is on the token, next to pkcs11-tool's.
    let mut keys = private_keys(&hsm, TOKEN);
    keys.sort();
    assert_eq!(keys, [LIB_KEY, TOOL_KEY]);

    drop(hsm);
    assert!(!root.exists(), "{} is left after the drop", root.display());
}

/// The re-run child: the module sees the parent's tokens; hsmjwt makes a key there.
fn child(hsm: &SoftHsm) {
    assert!(hsm.env_is_set());
    assert!(std::env::var_os("HSMJWT_PIN").is_none());
    assert_eq!(
        std::env::var_os("PKCS11_MODULE").as_deref(),
        Some(hsm.module().as_os_str())
    );
    let jwk = hsm
        .generate_key(TOKEN, LIB_KEY, |key| {
            hsmjwt_pkcs11::generate_key_pair(&uri(key), Algorithm::PS256, None)
        })
        .unwrap();
    assert_eq!(jwk.to_map()["kty"], "RSA");
    let e = hsm
        .generate_key(TOKEN, TOOL_KEY, |key| {
            hsmjwt_pkcs11::generate_key_pair(&uri(key), Algorithm::ES256, None)
        })
        .unwrap_err();
    assert!(
        matches!(&e, Error::KeyGeneration { label, .. } if label == TOOL_KEY),
        "the label is taken: {e}"
    );
    // Both keys sign (an RSA key signs RS256 unless told otherwise).
    for (label, alg) in [(TOOL_KEY, Algorithm::ES256), (LIB_KEY, Algorithm::RS256)] {
        let uri = Pkcs11Uri::new()
            .with_token(TOKEN)
            .with_object(label)
            .with_module_path(hsm.module())
            .with_pin_value(hsm.pin().clone());
        let signer = Pkcs11Signer::open(&uri, SignerOptions::default()).unwrap();
        assert_eq!(signer.algorithm(), alg);
        assert!(!signer.sign(b"signing input").unwrap().is_empty());
    }
}

/// The child's exit code reaches the parent, and so do the variables `Rerun` sets.
#[test]
fn the_child_exit_code_reaches_the_parent() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let spec = Builder::new(installation);
    if let Some(hsm) = spec.attach().unwrap() {
        assert!(hsm.env_is_set());
        let code = std::env::var("TESTKIT_CHILD_EXIT")
            .unwrap()
            .parse()
            .unwrap();
        // Out of the harness at once: no failure report in the log for a test that passes.
        std::process::exit(code);
    }
    let hsm = spec.build().unwrap();
    assert!(hsm.tokens().is_empty());
    let status = hsm
        .rerun(
            &Rerun::one_test("the_child_exit_code_reaches_the_parent")
                .env("TESTKIT_CHILD_EXIT", "7"),
        )
        .unwrap();
    assert_eq!(status.code(), Some(7));
}

/// Keep mode: the folder stays, and building on it again reuses its token and keys.
#[test]
fn kept_folders_stay_and_are_reused() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("kept");
    let spec = Builder::new(installation.clone())
        .dir(&dir)
        .token(TOKEN)
        .key(TOKEN, TOOL_KEY, "01", "EC:prime256v1");
    let first = spec.build().unwrap();
    assert!(first.reused_tokens().is_empty());
    drop(first);
    assert!(dir.join("softhsm2.conf").is_file());

    let again = spec
        .clone()
        .token(OTHER)
        .key(OTHER, TOOL_KEY, "01", "EC:prime256v1")
        .build()
        .unwrap();
    assert_eq!(again.reused_tokens(), [TOKEN]);
    // The key already there is not made a second time; the new token gets its own.
    assert_eq!(private_keys(&again, TOKEN), [TOOL_KEY]);
    assert_eq!(private_keys(&again, OTHER), [TOOL_KEY]);
    again.close().unwrap();
    assert!(dir.is_dir(), "a kept folder is never removed");

    // A temporary fixture kept on purpose, then one closed explicitly.
    let temp = Builder::new(installation.clone())
        .temp_in(scratch.path())
        .prefix("kept-")
        .build()
        .unwrap();
    let kept = temp.keep();
    assert!(kept.is_dir() && kept.starts_with(scratch.path()));
    let temp = Builder::new(installation)
        .temp_in(scratch.path())
        .build()
        .unwrap();
    let root = temp.root().to_owned();
    temp.close().unwrap();
    assert!(!root.exists());
}
