//! `finalize_all`: the modules a process loaded are finalized (`C_Finalize`) at its end, and
//! a module used afterwards is loaded and initialized again.
//!
//! Its own test binary and SoftHSM2 token (finalizing would end other tests' sessions);
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, so the test runs itself again in a
//! child with the token's environment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt_core::Signer as _;
use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions, finalize_all, shared_context};
use hsmjwt_testkit::softhsm::{self, Builder, PIN, SoftHsm};

const TOKEN: &str = "finalize";

#[test]
fn modules_are_finalized_and_load_again() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "p256", "01", "EC:prime256v1")
        .run_in_child(
            "modules_are_finalized_and_load_again",
            |_, rerun| rerun,
            child,
        )
        .unwrap();
}

fn child(hsm: &SoftHsm) {
    let uri = Pkcs11Uri::new()
        .with_token(TOKEN)
        .with_object("p256")
        .with_module_path(hsm.module())
        .with_pin_value(PIN.into());
    let sign = || {
        Pkcs11Signer::open(&uri, SignerOptions::default())
            .unwrap()
            .sign(b"before and after")
            .unwrap()
    };
    sign();
    let old = shared_context(hsm.module()).unwrap();
    assert!(old.get_slots_with_token().is_ok());
    assert!(finalize_all().is_empty(), "C_Finalize failed");
    // The old context's module was finalized: it answers CKR_CRYPTOKI_NOT_INITIALIZED.
    let e = old.get_slots_with_token().unwrap_err();
    assert!(
        e.to_string().contains("not initialized") || format!("{e:?}").contains("NotInitialized"),
        "{e:?}"
    );
    // The next use loads and initializes it again.
    sign();
    assert!(finalize_all().is_empty());
    assert!(finalize_all().is_empty(), "nothing left to finalize");
}
