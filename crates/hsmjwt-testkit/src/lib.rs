//! Test support for code that uses PKCS#11 tokens, from the hsmjwt project:
//!
//! - [`softhsm`]: SoftHSM2 tokens in a temporary folder for tests, demos and CI (tokens by
//!   label, keys made by `pkcs11-tool` or by your code, the child process that
//!   `SOFTHSM2_CONF` needs, the skip-or-fail policy), removed when dropped;
//! - [`p11kit`]: p11-kit's remoting (`p11-kit server` and `p11-kit-client.so`) in front of
//!   a SoftHSM2 fixture's token, the closest thing to a network HSM in a test;
//! - [`modules`]: tokens of other PKCS#11 implementations with the same shape (Kryoptic,
//!   tpm2-pkcs11 on swtpm, p11-kit's remoting of SoftHSM2), their servers stopped on drop;
//! - [`close_all_sessions`]: the PKCS#11 call `C_CloseAllSessions`, which the safe `cryptoki`
//!   API does not offer, for tests that break a token's state under a signer;
//! - [`faults`]: the fault-injecting PKCS#11 module (`hsmjwt-testkit-faults`) and its
//!   controls (faults at a rate, for every function or one, latency, a held `C_Sign`;
//!   counts of sessions, calls, logins and faults);
//! - [`aem`]: AEM service-account credentials files, as Adobe gives them;
//! - [`der`]: keys taken apart the way other JWT libraries want them (PKCS#1 inside PKCS#8,
//!   the key bits of a SubjectPublicKeyInfo), for interoperability tests and benchmarks;
//! - [`net`]: a loopback port that refuses connections while held, and a check for a
//!   listener that a connection to itself cannot fool;
//! - [`fifo`]: a named pipe that feeds given bytes to a reader, for tests of code that must
//!   bound what it reads (a FIFO's metadata tells no size).
//!
//! The one module with `unsafe` code is `ffi` (private, behind [`close_all_sessions`] and
//! [`faults::Faults`]); the rest of the crate denies it.

use std::path::Path;

pub mod aem;
pub mod der;
mod error;
pub mod faults;
#[allow(unsafe_code)]
mod ffi;
#[cfg(unix)]
mod fifo;
#[cfg(unix)]
pub mod modules;
pub mod net;
pub mod p11kit;
pub mod softhsm;

pub use error::{BoxError, Error};
#[cfg(unix)]
pub use fifo::fifo;
/// The PINs are [`secrecy::SecretString`]s.
pub use secrecy;

/// Percent-encodes a `pkcs11:` URI attribute value (RFC 7512): every byte but the
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`), for URIs written from token labels.
#[must_use]
pub fn uri_value(value: &str) -> String {
    /// What RFC 3986 calls unreserved is left as it is.
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, ESCAPED).to_string()
}

/// Closes every session of this process on `slot_id`, as `C_CloseAllSessions` does, behind
/// the back of whoever holds them.
///
/// PKCS#11 keeps login state per application, so closing the last session also logs the
/// application out of the token, and the token forgets the object handles it gave out.
/// Sessions held by others (for example a `Pkcs11Signer`'s pool) keep their handles, which
/// the module no longer knows: their next call fails with `CKR_SESSION_HANDLE_INVALID`.
///
/// `cryptoki` 0.12 has no safe `close_all_sessions`, so this loads `module` a second time
/// (`dlopen` of a library the process has already loaded returns the same library, with the
/// same state), asks it for its function list with `C_GetFunctionList`, and calls
/// `C_CloseAllSessions(slot_id)` through it.
///
/// # Preconditions
/// The module must already be loaded **and initialized** in this process, for example by
/// `hsmjwt_pkcs11::shared_context` or by opening a signer. This function never calls
/// `C_Initialize` or `C_Finalize`: the module belongs to the process's shared context.
/// Called on a module that is not initialized, the call fails with
/// `CKR_CRYPTOKI_NOT_INITIALIZED` and changes nothing.
///
/// # Errors
/// [`Error::Pkcs11`] when the module cannot be loaded, lacks `C_GetFunctionList` or
/// `C_CloseAllSessions`, or when either call returns anything but `CKR_OK` (for example
/// `CKR_SLOT_ID_INVALID`, named in the message).
pub fn close_all_sessions(module: &Path, slot_id: u64) -> Result<(), Error> {
    // `CK_SLOT_ID` is a C `unsigned long`: 32 bits on Windows.
    #[allow(clippy::useless_conversion)]
    let slot = cryptoki_sys::CK_SLOT_ID::try_from(slot_id).map_err(|_| Error::Pkcs11 {
        message: format!("slot id {slot_id} does not fit a CK_SLOT_ID"),
        source: None,
    })?;
    ffi::close_all_sessions(module, slot)
}

/// A readable name for the return values a caller may meet here, else the number.
fn rv_name(rv: cryptoki_sys::CK_RV) -> String {
    let name = match rv {
        cryptoki_sys::CKR_SLOT_ID_INVALID => "CKR_SLOT_ID_INVALID",
        cryptoki_sys::CKR_GENERAL_ERROR => "CKR_GENERAL_ERROR",
        cryptoki_sys::CKR_HOST_MEMORY => "CKR_HOST_MEMORY",
        cryptoki_sys::CKR_FUNCTION_FAILED => "CKR_FUNCTION_FAILED",
        cryptoki_sys::CKR_ARGUMENTS_BAD => "CKR_ARGUMENTS_BAD",
        cryptoki_sys::CKR_DEVICE_ERROR => "CKR_DEVICE_ERROR",
        cryptoki_sys::CKR_DEVICE_REMOVED => "CKR_DEVICE_REMOVED",
        cryptoki_sys::CKR_TOKEN_NOT_PRESENT => "CKR_TOKEN_NOT_PRESENT",
        cryptoki_sys::CKR_CRYPTOKI_NOT_INITIALIZED => "CKR_CRYPTOKI_NOT_INITIALIZED",
        _ => return format!("CK_RV {rv:#x}"),
    };
    format!("{name} ({rv:#x})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_module_is_an_error() {
        let e = close_all_sessions(Path::new("/nonexistent/libpkcs11-missing.so"), 0)
            .expect_err("no such module");
        assert!(
            matches!(
                e,
                Error::Pkcs11 {
                    source: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("libpkcs11-missing.so"), "{e}");
    }

    #[test]
    fn return_values_are_named() {
        assert_eq!(
            rv_name(cryptoki_sys::CKR_SLOT_ID_INVALID),
            "CKR_SLOT_ID_INVALID (0x3)"
        );
        assert_eq!(rv_name(0x8000_0001), "CK_RV 0x80000001");
    }

    /// SoftHSM, when installed, is loaded but never initialized in this test process: the
    /// call must report that instead of initializing the module itself.
    #[test]
    fn uninitialized_module_is_reported_not_initialized() {
        let Some(installation) = softhsm::installed_or_skip() else {
            return;
        };
        let e = close_all_sessions(installation.module(), 0)
            .expect_err("the module is not initialized");
        assert!(
            e.to_string().contains("CKR_CRYPTOKI_NOT_INITIALIZED"),
            "{e}"
        );
    }
}
