#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod cert;
mod error;
pub mod file;
mod private;
mod public;
mod signer;
mod verifier;
mod x509;

pub use cert::{
    Certificate, CertificateHeaders, EXPIRY_WARNING_DAYS, Validity, certify_header,
    set_certificate_headers,
};
pub use error::{Error, Result};
pub use file::{MAX_CERTIFICATE_FILE, MAX_JWKS_FILE, MAX_KEY_FILE};
pub use private::{KeySpec, PrivateKey};
pub use public::{PublicKey, load_certificate_chain};
pub use signer::SoftSigner;
pub use verifier::{SoftVerifier, verifiers_from_jwks};
pub use x509::{
    CertificateParams, CertificateRequest, DEFAULT_DAYS, DistinguishedName, MAX_DAYS,
    NOT_BEFORE_SKEW, SubjectAltName, certificate_request, self_signed,
};
