//! The one error type of `hsmjwt-pkcs11`.

use std::path::{Path, PathBuf};

use cryptoki::error::RvError;
use hsmjwt_core::Algorithm;
use hsmjwt_core::text::{Untrusted, UntrustedMessage};

/// The error of the `cryptoki` crate, used inside this crate only: [`Error`] keeps it as a
/// boxed `source`.
pub(crate) type CryptokiError = cryptoki::error::Error;

/// A boxed error, the `source` of [`Error`] variants whose cause comes from another crate
/// or from the application (a [`PinSource::Callback`](crate::PinSource::Callback)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while addressing, opening, listing or using a key in a
/// PKCS#11 token.
///
/// The cause (the PKCS#11 library's error, the file system's) is kept as a boxed `source`;
/// [`Error::return_value`] names the PKCS#11 return value when there is one. Messages never
/// contain a PIN, and they speak of URIs and options, not of any application's commands or
/// environment: an application adds its own hints. What they quote from a URI (attribute
/// names and values, paths) or from a token (labels) is shown escaped ([`Untrusted`],
/// [`UntrustedMessage`]): `%0a` in a URI decodes to a newline, and a token's label is
/// whatever was written to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A PKCS#11 URI (RFC 7512) is malformed or names an unsupported attribute.
    #[error("invalid PKCS#11 URI: {}", attribute.as_deref().map(|a| format!("attribute `{}` {}", Untrusted(a), UntrustedMessage(reason))).unwrap_or_else(|| UntrustedMessage(reason).to_string()))]
    InvalidUri {
        /// The attribute at fault, when the fault is in one attribute.
        attribute: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// Neither the URI (`module-path`) nor the options ([`TokenAccess::module`]) name a
    /// PKCS#11 module.
    ///
    /// [`TokenAccess::module`]: crate::TokenAccess::module
    #[error("no PKCS#11 module given: the URI has no `module-path` and the options name no module")]
    NoModule,
    /// The module file does not exist or cannot be resolved.
    #[error("PKCS#11 module `{}` cannot be found", shown(path))]
    ModuleNotFound {
        /// The path as given.
        path: PathBuf,
        /// The file system's complaint.
        #[source]
        source: BoxError,
    },
    /// The module could not be loaded or initialized (`C_Initialize`).
    #[error(
        "cannot load PKCS#11 module `{}`{}",
        shown(path),
        module_hint(path).map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    ModuleLoad {
        /// The module path.
        path: PathBuf,
        /// The library's error.
        #[source]
        source: BoxError,
    },
    /// No token matches the URI.
    #[error("no token matches {}", UntrustedMessage(.searched))]
    TokenNotFound {
        /// What was searched for, for example ``token `jwt` ``.
        searched: String,
    },
    /// More than one token matches the URI.
    #[error(
        "{count} tokens match {} ({}); add `token=`, `serial=` or `slot-id=` to the URI",
        UntrustedMessage(.searched),
        UntrustedMessage(.labels)
    )]
    AmbiguousToken {
        /// What was searched for.
        searched: String,
        /// How many tokens match.
        count: usize,
        /// Their labels, comma-separated.
        labels: String,
    },
    /// The token needs a login and nothing gave a PIN: the URI has no `pin-value` or
    /// `pin-source`, and the options' [`PinSource`](crate::PinSource) is missing or (a
    /// callback) returned none.
    #[error(
        "no PIN for token `{}`: the URI has no `pin-value` or `pin-source` and the options give no PIN source",
        Untrusted(.token)
    )]
    NoPin {
        /// The token label.
        token: String,
    },
    /// The PIN file (the URI's `pin-source` or a [`PinSource::File`](crate::PinSource::File))
    /// cannot be read.
    #[error("cannot read the PIN from `{}`", shown(path))]
    PinSource {
        /// The PIN file.
        path: PathBuf,
        /// The file system's complaint.
        #[source]
        source: BoxError,
    },
    /// The PIN file holds more than [`MAX_PIN_FILE`](crate::MAX_PIN_FILE) bytes; it was not
    /// read past the limit.
    #[error("PIN file `{}` is larger than the {} KiB limit for PIN files", path.display(), limit / 1024)]
    PinFileTooLarge {
        /// The PIN file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A [`PinSource::Callback`](crate::PinSource::Callback) failed.
    #[error("cannot get the PIN for token `{}`", Untrusted(.token))]
    PinCallback {
        /// The token label.
        token: String,
        /// The callback's error.
        #[source]
        source: BoxError,
    },
    /// The token rejected the PIN (`CKR_PIN_INCORRECT`). It is never retried automatically.
    #[error(
        "wrong PIN for token `{}` (not retried: tokens lock the user after a few failures)",
        Untrusted(.token)
    )]
    PinIncorrect {
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: BoxError,
    },
    /// The user PIN of the token is locked (`CKR_PIN_LOCKED` or the token's flag).
    #[error(
        "the user PIN of token `{}` is locked; the security officer must unlock it",
        Untrusted(.token)
    )]
    PinLocked {
        /// The token label.
        token: String,
        /// The library's error, when the lock was reported by `C_Login`.
        #[source]
        source: Option<BoxError>,
    },
    /// The PIN was rejected by an earlier login of this signer, so it is not tried again.
    #[error(
        "the PIN for token `{}` was rejected earlier; not trying it again",
        Untrusted(.token)
    )]
    PinRejectedEarlier {
        /// The token label.
        token: String,
    },
    /// Logging in failed for another reason.
    #[error("cannot log in to token `{}`", Untrusted(.token))]
    Login {
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: BoxError,
    },
    /// No key matches the URI on the token.
    #[error(
        "no {what} matches {} on token `{}`",
        UntrustedMessage(.searched),
        Untrusted(.token)
    )]
    KeyNotFound {
        /// The kind of object searched for ("private key", "public key or certificate").
        what: &'static str,
        /// The token label.
        token: String,
        /// What was searched for, for example ``label `jwt-rsa`, id 01``.
        searched: String,
    },
    /// More than one key (or certificate) matches the URI.
    #[error(
        "{count} {what} match {} on token `{}`; add `object=` or `id=` to the URI",
        UntrustedMessage(.searched),
        Untrusted(.token)
    )]
    AmbiguousKey {
        /// The kind of objects that match ("private keys", "public keys", "certificates").
        what: &'static str,
        /// The token label.
        token: String,
        /// What was searched for.
        searched: String,
        /// How many keys match.
        count: usize,
    },
    /// A key with the requested label or id already exists (key generation).
    #[error(
        "a key with {} already exists on token `{}`",
        UntrustedMessage(.searched),
        Untrusted(.token)
    )]
    KeyExists {
        /// The token label.
        token: String,
        /// The label and id that collide.
        searched: String,
    },
    /// A certificate object with the key's id is already on the token (storing a
    /// certificate without replacing).
    #[error("a certificate with id {id} already exists on token `{token}`")]
    CertificateExists {
        /// The token label.
        token: String,
        /// The id, lower-case hex.
        id: String,
    },
    /// The token refused to create an imported private key object (`C_CreateObject`).
    #[error(
        "token `{}` refused to import the private key (C_CreateObject); some tokens accept only keys generated inside them or imported wrapped, which hsmjwt does not do yet",
        Untrusted(.token)
    )]
    ImportRefused {
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: BoxError,
    },
    /// After an import, the token's public key is not the imported key's.
    #[error(
        "after the import, token `{}` shows another public key than the imported key's; the new objects were removed",
        Untrusted(.token)
    )]
    ImportMismatch {
        /// The token label.
        token: String,
    },
    /// Deleting needs a URI that names a key, by `object=` or `id=`.
    #[error("the URI names no key: add `object=` or `id=` to say which key to delete")]
    NoKeyNamed,
    /// The bytes given as a certificate are not a DER X.509 certificate.
    #[error("not a DER X.509 certificate")]
    InvalidCertificate(#[source] BoxError),
    /// The key cannot be used: unsupported type or curve, too small, or unreadable public part.
    #[error("unsupported key: {}", UntrustedMessage(.0))]
    UnsupportedKey(String),
    /// The key's public part does not make a valid JWK (for example RSA under 2048 bits).
    #[error("the key's public part is not usable")]
    PublicKey(#[source] hsmjwt_core::Error),
    /// The requested algorithm does not fit the key.
    #[error("algorithm {algorithm} does not fit {key}")]
    AlgorithmMismatch {
        /// The requested algorithm.
        algorithm: Algorithm,
        /// The key, for example "an EC P-384 key".
        key: String,
    },
    /// A request that cannot be carried out as asked (for example a bad RSA size).
    #[error("invalid request: {}", UntrustedMessage(.0))]
    InvalidRequest(String),
    /// The token offers none of the mechanisms that sign with the algorithm.
    #[error(
        "token `{}` cannot sign {algorithm}: it offers none of {}",
        Untrusted(.token),
        Untrusted(&.missing.join(", "))
    )]
    MechanismMissing {
        /// The token label.
        token: String,
        /// The algorithm.
        algorithm: Algorithm,
        /// The `CKM_` names of the mechanisms that would do, preferred first.
        missing: Vec<String>,
    },
    /// The token failed to sign: `C_SignInit` (the mechanism or the key was refused) or
    /// `C_Sign`.
    #[error("PKCS#11 {operation} with {} failed{}", Untrusted(.mechanism), on_token(token))]
    Sign {
        /// `C_SignInit` or `C_Sign`.
        operation: &'static str,
        /// The mechanism's `CKM_` name.
        mechanism: String,
        /// The token label.
        token: String,
        /// The library's error.
        #[source]
        source: BoxError,
    },
    /// The module stopped answering (a device error, a removed token, a dead link to a
    /// remote module). The signer finalizes it and initializes it again in the background
    /// of later requests: this request failed, the next ones may succeed.
    #[error("the PKCS#11 module of token `{}` was lost; it is being initialized again", Untrusted(.token))]
    ModuleLost {
        /// The token label.
        token: String,
        /// What failed.
        #[source]
        source: BoxError,
    },
    /// The token returned a signature of the wrong length.
    #[error("the token returned a {found}-byte signature where {expected} bytes were expected")]
    SignatureLength {
        /// The expected length.
        expected: usize,
        /// The length returned.
        found: usize,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed{}", on_token(token))]
    Pkcs11 {
        /// What was being done, for example "C_Sign".
        operation: &'static str,
        /// The token label (empty when not known yet).
        token: String,
        /// The library's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    pub(crate) fn uri(attribute: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidUri {
            attribute: Some(attribute.into()),
            reason: reason.into(),
        }
    }

    pub(crate) fn pkcs11(operation: &'static str, token: &str, source: CryptokiError) -> Self {
        Error::Pkcs11 {
            operation,
            token: token.to_owned(),
            source: Box::new(source),
        }
    }

    /// The PKCS#11 return value behind this error, as its `CKR_` name (for example
    /// `"CKR_PIN_INCORRECT"`), or as a hexadecimal number for vendor-defined and unknown
    /// values. `None` when the error did not come from a PKCS#11 call.
    pub fn return_value(&self) -> Option<String> {
        let source = std::error::Error::source(self)?;
        match source.downcast_ref::<CryptokiError>()? {
            CryptokiError::Pkcs11(rv, _) => Some(ckr_name(*rv)),
            _ => None,
        }
    }
}

/// The `CKR_` name of a return value: `cryptoki` names its variants after the constants
/// (`PinIncorrect` for `CKR_PIN_INCORRECT`).
fn ckr_name(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(value) | RvError::UnknownErrorCode(value) => format!("{value:#x}"),
        rv => {
            let camel = format!("{rv:?}");
            let mut name = String::from("CKR");
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            name
        }
    }
}

/// " on token `LABEL`", or nothing while the token is not known yet.
/// What a module known by its file name needs in order to load, for its load errors; none
/// for other modules (their vendors' documentation says).
pub(crate) fn module_hint(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    Some(if name.starts_with("libsofthsm2") {
        "SoftHSM reads its configuration from the file SOFTHSM2_CONF names, by default /etc/softhsm/softhsm2.conf: check that it exists, is readable and names a token directory that exists"
    } else if name.starts_with("libtpm2_pkcs11") {
        "tpm2-pkcs11 reaches the TPM through TPM2_PKCS11_TCTI (for example `swtpm:host=127.0.0.1,port=2321` or `device:/dev/tpmrm0`) and keeps its store in TPM2_PKCS11_STORE"
    } else if name.starts_with("libsoftokn3") || name.starts_with("libnssckbi") {
        "NSS's softoken needs initialisation arguments (configdir=...) that a plain C_Initialize cannot give: load it through p11-kit-proxy.so with a module file that sets x-init-reserved"
    } else if name.starts_with("p11-kit-client") {
        "p11-kit-client.so connects to the p11-kit server that P11_KIT_SERVER_ADDRESS names"
    } else if name.contains("kryoptic") {
        "Kryoptic reads its configuration from the file KRYOPTIC_CONF names"
    } else {
        return None;
    })
}

fn on_token(token: &str) -> String {
    if token.is_empty() {
        String::new()
    } else {
        format!(" on token `{}`", Untrusted(token))
    }
}

/// A path from a URI (`module-path`, `pin-source`), escaped as [`Untrusted`] shows it.
fn shown(path: &Path) -> String {
    Untrusted(&path.to_string_lossy()).to_string()
}

/// The `Result` type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_are_named_as_in_pkcs11() {
        use cryptoki::context::Function;
        let login = |rv| Error::PinIncorrect {
            token: "t".into(),
            source: Box::new(CryptokiError::Pkcs11(rv, Function::Login)),
        };
        for (rv, name) in [
            (RvError::PinIncorrect, "CKR_PIN_INCORRECT"),
            (RvError::GeneralError, "CKR_GENERAL_ERROR"),
            (
                RvError::CryptokiAlreadyInitialized,
                "CKR_CRYPTOKI_ALREADY_INITIALIZED",
            ),
            (RvError::VendorDefined(0x8000_0001), "0x80000001"),
        ] {
            assert_eq!(login(rv).return_value().as_deref(), Some(name));
        }
        assert_eq!(Error::NoModule.return_value(), None);
        let io = Error::PinSource {
            path: "/p".into(),
            source: Box::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        assert_eq!(io.return_value(), None);
    }
}

#[cfg(test)]
mod untrusted_tests {
    use super::*;

    const FORGED: &str = "a\nerror: forged\r\u{1b}]0;pwned\u{7}\u{202e}\0";

    /// What a message quotes from a URI (`%0a` decodes to a newline) or a token is escaped.
    #[test]
    fn uri_and_token_values_are_escaped() {
        let s = || FORGED.to_owned();
        let source = || -> BoxError { Box::new(std::io::Error::other("x")) };
        let mut errors = vec![
            Error::uri(s(), s()),
            Error::InvalidUri {
                attribute: None,
                reason: s(),
            },
            Error::ModuleNotFound {
                path: s().into(),
                source: source(),
            },
            Error::ModuleLoad {
                path: s().into(),
                source: source(),
            },
            Error::TokenNotFound { searched: s() },
            Error::AmbiguousToken {
                searched: s(),
                count: 2,
                labels: s(),
            },
            Error::NoPin { token: s() },
            Error::PinSource {
                path: s().into(),
                source: source(),
            },
            Error::PinCallback {
                token: s(),
                source: source(),
            },
            Error::PinIncorrect {
                token: s(),
                source: source(),
            },
            Error::PinLocked {
                token: s(),
                source: None,
            },
            Error::PinRejectedEarlier { token: s() },
            Error::Login {
                token: s(),
                source: source(),
            },
            Error::KeyNotFound {
                what: "private key",
                token: s(),
                searched: s(),
            },
            Error::AmbiguousKey {
                what: "private keys",
                token: s(),
                searched: s(),
                count: 2,
            },
            Error::KeyExists {
                token: s(),
                searched: s(),
            },
            Error::ImportRefused {
                token: s(),
                source: source(),
            },
            Error::ImportMismatch { token: s() },
            Error::UnsupportedKey(s()),
            Error::InvalidRequest(s()),
            Error::Pkcs11 {
                operation: "C_Sign",
                token: s(),
                source: source(),
            },
            Error::ModuleLost {
                token: s(),
                source: source(),
            },
            Error::MechanismMissing {
                token: s(),
                algorithm: Algorithm::PS256,
                missing: vec![s()],
            },
            Error::Sign {
                operation: "C_SignInit",
                mechanism: s(),
                token: s(),
                source: source(),
            },
        ];
        for uri in [
            "pkcs11:token=t;slot-id=1%0aerror:%1b%5d0%3bx%07%00",
            "pkcs11:token=t;x\nerror:\u{1b}[2J=1",
            "pkcs11:token=t?pin-source=file://remote%0a%1b/pin",
        ] {
            errors.push(uri.parse::<crate::Pkcs11Uri>().unwrap_err());
        }
        for err in errors {
            let shown = err.to_string();
            // Nothing a terminal acts on is left to escape.
            assert_eq!(hsmjwt_core::text::clean(&shown, usize::MAX), shown);
            assert!(shown.contains(r"\n"), "{shown}");
        }
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    #[test]
    fn load_errors_carry_the_hint_of_their_own_module_only() {
        let load = |path: &str| {
            Error::ModuleLoad {
                path: PathBuf::from(path),
                source: "C_Initialize failed".into(),
            }
            .to_string()
        };
        let softhsm = load("/usr/lib/softhsm/libsofthsm2.so");
        assert!(softhsm.contains("SOFTHSM2_CONF"), "{softhsm}");
        let tpm = load("/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so.1");
        assert!(
            tpm.contains("TPM2_PKCS11_TCTI") && !tpm.contains("SOFTHSM"),
            "{tpm}"
        );
        assert!(load("/usr/lib/x86_64-linux-gnu/libsoftokn3.so").contains("x-init-reserved"));
        assert!(
            load("/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so")
                .contains("P11_KIT_SERVER_ADDRESS")
        );
        assert!(load("/opt/kryoptic/libkryoptic_pkcs11.so").contains("KRYOPTIC_CONF"));
        assert_eq!(
            load("/opt/vendor/libcloudhsm_pkcs11.so"),
            "cannot load PKCS#11 module `/opt/vendor/libcloudhsm_pkcs11.so`"
        );
    }
}
