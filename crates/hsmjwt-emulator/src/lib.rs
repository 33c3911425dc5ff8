//! Local test servers for hsmjwt and for its users' CI: an Adobe IMS emulator and a JAR/PAR
//! authorization server. Both really verify signatures, listen on loopback addresses only
//! and stop when their handle is dropped.
//!
//! The IMS emulator ([`Emulator`]) serves:
//! - `POST /ims/exchange/jwt`: the service-account JWT exchange. The JWT's RS256 signature
//!   is verified against the registered certificate or public key, then `iss`, `sub`,
//!   `aud`, `exp` (30 s of skew), a lifetime of at most 24 h and the metascope claims; the
//!   client id and secret are checked. Success: `{"token_type":"bearer","access_token":
//!   ...,"expires_in":86399999}` (**milliseconds**).
//! - `POST /ims/token/v3`: OAuth server-to-server (`client_credentials` with client id,
//!   secret and comma-separated scopes). Success: `expires_in` 86399 (**seconds**).
//! - `POST /oauth/token`: a generic RFC 6749 token endpoint for testing generic clients:
//!   `client_credentials` and the RFC 7523 JWT-bearer grant, with `client_secret_post`,
//!   `client_secret_basic` or `private_key_jwt` (assertion `jti`s may not be reused).
//! - `GET /health`: `ok`.
//!
//! Errors are Adobe-shaped: `{"error":"invalid_client"|"invalid_token"|
//! "invalid_signature"|"invalid_scope"|"bad_request"|...,"error_description":"..."}` with
//! status 400 or 401, and every answer carries an `x-debug-id` header.
//!
//! Faults can be queued ([`Emulator::push_fault`]): each request to a token endpoint takes
//! the next one (an error status, a 429 with `Retry-After`, a delay, or any body), and
//! requests are counted per endpoint ([`Emulator::requests`]).
//!
//! The authorization server ([`authz::AuthorizationServer`]) verifies JAR request objects
//! (RFC 9101), pushed (RFC 9126) or passed by value.
//!
//! Both servers authenticate clients with one module (form parameters, HTTP Basic, secrets
//! compared in constant time, client assertions with `jti` replay detection).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hsmjwt_emulator::{Emulator, EmulatorConfig, Integration};
//! use hsmjwt_ims::CredentialsFile;
//!
//! let file = CredentialsFile::load("service-credentials.json".as_ref())?;
//! let config = EmulatorConfig::new().with_integrations(Integration::from_credentials_file(&file)?);
//! let emulator = Emulator::start(config).await?;
//! println!("IMS at {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authz;
mod client_auth;
mod config;
mod error;
mod handlers;
mod ims;
mod response;
mod server;

pub use authz::{AuthorizationServer, AuthorizationServerConfig, RegisteredAuth, RegisteredClient};
pub use config::{EmulatorConfig, Endpoint, Fault, Integration, MAX_LEEWAY};
pub use error::{BoxedSource, Error, Result};
pub use ims::Emulator;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
