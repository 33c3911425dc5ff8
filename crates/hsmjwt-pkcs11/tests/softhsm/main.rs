//! Integration tests against SoftHSM2: one test binary, one token folder, a module per area.
//!
//! Skipped with a message when SoftHSM2 is not installed, unless `CI` or
//! `HSMJWT_REQUIRE_SOFTHSM=1` is set, when they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod concurrency;
mod faults;
mod fixture;
mod inventory;
mod pins;
mod public;
mod sign;

/// The fixture's module, with no PIN source: PINs come from the URIs.
pub(crate) fn access(f: &fixture::Fixture) -> hsmjwt_pkcs11::TokenAccess {
    hsmjwt_pkcs11::TokenAccess::new().with_module(&f.module)
}

/// Returns the fixture, or returns from the test (skipping it) when SoftHSM2 is missing.
#[macro_export]
macro_rules! fixture_or_skip {
    () => {
        match $crate::fixture::fixture() {
            Some(f) => f,
            None => return,
        }
    };
}
