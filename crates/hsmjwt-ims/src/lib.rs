//! Adobe IMS for hsmjwt: the service-account JWT exchange and OAuth server-to-server, the
//! credential files Adobe hands out, and the checks behind `hsmjwt credentials check`.
//!
//! Built on [`hsmjwt_oauth`] (the HTTP layer, retries, the token cache):
//! - [`ims`]: [`JwtExchange`] mints the service-account JWT with any
//!   [`hsmjwt_core::Signer`] (a key in a file or in an HSM) and exchanges it at
//!   `/ims/exchange/jwt` (`expires_in` in **milliseconds**); [`ServerToServer`] is OAuth
//!   server-to-server at `/ims/token/v3` (`expires_in` in seconds). Both are
//!   [`hsmjwt_oauth::TokenSource`]s for [`hsmjwt_oauth::TokenCache`]. IMS's `x-debug-id`
//!   support header is kept on every answer ([`debug_id`]).
//! - [`credentials`]: AEM service credentials and Developer Console project files.
//! - [`check`]: what a credentials file is for and whether it still works (key and
//!   certificate match, days left, the claims it would mint).
//! - [`endpoint`]: the IMS host named in tokens versus the base URL requests go to.
//!
//! The token shapes themselves (the service-account JWT, `AD-Service-Token`) are pure
//! token shapes and live in `hsmjwt_core::profile`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hsmjwt_ims::{CredentialsFile, ImsClient, ImsEndpoint, JwtExchange};
//! use hsmjwt_oauth::TokenCache;
//! use hsmjwt_soft::{PrivateKey, SoftSigner};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let file = CredentialsFile::load("service-credentials.json".as_ref())?;
//! let creds = file.service_account()?;
//! let key = PrivateKey::load("private.key".as_ref())?;
//! let signer = Arc::new(SoftSigner::new(key, None)?);
//! let client = ImsClient::new(ImsEndpoint::from_host(&creds.ims_host)?)?;
//! let cache = TokenCache::new(JwtExchange::from_credentials(client, creds, signer));
//! let token = cache.get().await?; // cached until shortly before expiry
//! # let _ = token; Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod credentials;
pub mod endpoint;
mod error;
pub mod ims;

pub use check::{CheckOptions, CheckReport, Finding, KeyToCheck, Level};
pub use credentials::{
    ConsoleCredential, ConsoleProject, CredentialsFile, CredentialsFormat, OAuthCredentials,
    ServiceAccountCredentials, aem_without_private_key,
};
pub use endpoint::ImsEndpoint;
pub use error::{BoxedSource, Error, Result};
pub use ims::{DEBUG_ID_HEADER, ImsClient, JwtExchange, ServerToServer, debug_id};

pub use secrecy::{ExposeSecret, SecretString};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
