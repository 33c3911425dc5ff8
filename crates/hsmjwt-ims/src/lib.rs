//! Token exchange for hsmjwt: JWTs signed by keys in files or HSMs, exchanged for OAuth
//! access tokens.
//!
//! - [`ims`]: Adobe IMS. [`JwtExchange`] mints the service-account JWT with any
//!   [`hsmjwt_core::Signer`] and exchanges it at `/ims/exchange/jwt` (`expires_in` in
//!   **milliseconds**); [`ServerToServer`] is OAuth server-to-server at `/ims/token/v3`
//!   (`expires_in` in seconds).
//! - [`oauth`]: a generic OAuth 2.0 token endpoint: `client_credentials` and the RFC 7523
//!   JWT-bearer grant, with `private_key_jwt`, `client_secret_post`, `client_secret_basic`.
//! - [`http`]: the reusable form POST with [`ClientAuth`], timeouts, retries with backoff
//!   (connection errors, 5xx, 429 with `Retry-After` in seconds or as an HTTP date), a
//!   bounded body and typed errors.
//! - [`cache`]: [`TokenCache`], single-flight refresh before expiry, generic over any
//!   [`TokenSource`].
//! - [`credentials`]: AEM service credentials and Developer Console project files.
//! - [`endpoint`]: IMS host versus base URL; plain http only to loopback addresses.
//! - `emulator` (feature `emulator`): an IMS-compatible server for tests and CI.
//!
//! Secrets (client secrets, private keys, access tokens) are `secrecy::SecretString`s:
//! redacted in `Debug`, never logged, never in error messages.
//!
//! Signing runs on tokio's blocking pool (`spawn_blocking`), since an HSM may block.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hsmjwt_ims::{CredentialsFile, ImsClient, ImsEndpoint, JwtExchange, TokenCache};
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

#[cfg(feature = "emulator")]
pub mod authz_server;
pub mod cache;
pub mod credentials;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod endpoint;
mod error;
pub mod http;
pub mod ims;
pub mod oauth;
pub mod par;
pub mod token;

pub use cache::{CacheOptions, TokenCache, TokenSource};
pub use credentials::{
    ConsoleCredential, ConsoleProject, CredentialsFile, CredentialsFormat, OAuthCredentials,
    ServiceAccountCredentials,
};
pub use endpoint::ImsEndpoint;
pub use error::{Error, Result};
pub use http::{ClientAuth, FormResponse, HttpClient, HttpOptions};
pub use ims::{ImsClient, JwtExchange, ServerToServer};
pub use oauth::{Grant, JwtBearerGrant, OAuthClient, OAuthFlow, TokenParams};
pub use token::{AccessToken, ExpiresUnit};

pub use secrecy::{ExposeSecret, SecretString};
