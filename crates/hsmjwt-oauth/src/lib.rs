//! A generic OAuth 2.0 client for hsmjwt: client authentication with keys in files or HSMs
//! (`private_key_jwt`), the token endpoint's grants, pushed authorization requests and a
//! token cache.
//!
//! - [`client`]: [`OAuthClient`] for one token endpoint: `client_credentials` and the RFC
//!   7523 JWT-bearer grant, with `private_key_jwt`, `client_secret_post`,
//!   `client_secret_basic` or no client authentication.
//! - [`http`]: the reusable form POST with [`ClientAuth`], timeouts, retries with backoff
//!   (connection errors, 5xx, 429 with `Retry-After` in seconds or as an HTTP date), a
//!   bounded body and typed errors.
//! - [`token`]: [`AccessToken`] and the strict parsing of token responses (`expires_in`
//!   as an integer, `3600.0` or `"3600"`, at most [`MAX_EXPIRES_IN`]; absent, it is
//!   [`DEFAULT_EXPIRES_IN`]).
//! - [`par`]: pushed authorization requests (RFC 9126).
//! - [`cache`]: [`TokenCache`], single-flight refresh before expiry, generic over any
//!   [`TokenSource`].
//! - [`endpoint`]: URL rules: `https`, or plain `http` to loopback addresses only.
//! - [`secret`]: client secrets from a named environment variable.
//!
//! Secrets (client secrets, assertions, access tokens) are `secrecy::SecretString`s or
//! zeroized buffers: redacted in `Debug`, never logged, never in error messages.
//!
//! [`hsmjwt_core::Signer`] is synchronous: signing a client assertion runs on tokio's
//! blocking pool (`spawn_blocking`), since an HSM may block.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hsmjwt_oauth::{ClientAuth, OAuthClient, OAuthFlow, Grant, TokenCache, TokenParams};
//! use hsmjwt_soft::{PrivateKey, SoftSigner};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = PrivateKey::load("client-key.pem".as_ref())?;
//! let signer = Arc::new(SoftSigner::new(key, None)?);
//! let endpoint = "https://as.example/oauth/token";
//! let client = OAuthClient::new(endpoint, "app", ClientAuth::private_key_jwt(signer, endpoint))?;
//! let flow = OAuthFlow::new(client, Grant::ClientCredentials, TokenParams::new().with_scope("read"));
//! let cache = TokenCache::new(flow);
//! let token = cache.get().await?; // cached until shortly before expiry
//! # let _ = token; Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod client;
pub mod endpoint;
mod error;
pub mod http;
pub mod par;
pub mod secret;
pub mod token;

pub use cache::{
    CacheClock, CacheOptions, CacheStatus, MonotonicClock, TokenCache, TokenSource, backoff,
};
pub use client::{Grant, JwtBearerGrant, OAuthClient, OAuthFlow, TokenParams};
pub use error::{BoxedSource, Error, Result};
pub use http::{ClientAuth, FormResponse, HttpClient, HttpOptions};
pub use par::PushedRequest;
pub use token::{
    AccessToken, DEFAULT_EXPIRES_IN, ExpiresUnit, MAX_EXPIRES_IN, parse_token_response,
};

pub use secrecy::{ExposeSecret, SecretString};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
