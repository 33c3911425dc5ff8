//! Pushed authorization requests (RFC 9126): send a JAR request object to the PAR
//! endpoint and get the `request_uri` to use in the authorization URL.
//!
//! ```no_run
//! # async fn run(http: hsmjwt_oauth::HttpClient, signer: std::sync::Arc<dyn hsmjwt_core::Signer>) -> Result<(), Box<dyn std::error::Error>> {
//! use hsmjwt_core::profile::jar::{RequestObject, par_authorization_url};
//! use hsmjwt_oauth::{ClientAuth, par};
//!
//! let request = RequestObject::new("app", "https://as.example/", "https://app.example/cb")
//!     .with_scope("openid")
//!     .sign(&*signer, hsmjwt_core::NumericDate::now())?;
//! let endpoint = hsmjwt_oauth::endpoint::parse_endpoint_url("https://as.example/oauth/par")?;
//! let auth = ClientAuth::private_key_jwt(signer.clone(), "https://as.example/");
//! let pushed = par::push(&http, &endpoint, "app", &auth, &request).await?;
//! let url = par_authorization_url("https://as.example/authorize", "app", &pushed.request_uri);
//! # let _ = url; Ok(()) }
//! ```

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{ClientAuth, HttpClient};
use crate::token::{ExpiresUnit, read_expires_in};

/// What the PAR endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushedRequest {
    /// The reference to send as `request_uri` (e.g. `urn:ietf:params:oauth:request_uri:...`).
    pub request_uri: String,
    /// How long the reference stays valid (at most [`crate::token::MAX_EXPIRES_IN`]).
    pub expires_in: Duration,
}

/// Pushes the signed request object `request` for `client_id` to `par_endpoint`, with
/// client authentication `auth` (form fields `client_id`, `request`, plus the
/// authentication's own).
///
/// # Errors
/// The errors of [`HttpClient::post_form`] (an error answer carries the status, the OAuth
/// `error` such as `invalid_request_object`, its description and the kept headers), and
/// [`Error::InvalidResponse`] when the answer lacks a non-empty `request_uri` string or an
/// `expires_in` (seconds, read as in a token response: a positive whole number up to
/// [`crate::token::MAX_EXPIRES_IN`], also as `60.0` or `"60"`).
pub async fn push(
    http: &HttpClient,
    par_endpoint: &Url,
    client_id: &str,
    auth: &ClientAuth,
    request: &str,
) -> Result<PushedRequest> {
    let response = http
        .post_form(par_endpoint, client_id, auth, &[("request", request)])
        .await?;
    let body = response.json_object()?;
    let request_uri = match body.get("request_uri") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(Error::invalid_response(
                &response.url,
                "`request_uri` is not a non-empty string",
            ));
        }
        None => {
            return Err(Error::invalid_response(
                &response.url,
                "`request_uri` is missing",
            ));
        }
    };
    let expires_in = read_expires_in(body.get("expires_in"), ExpiresUnit::Seconds)
        .map_err(|reason| Error::invalid_response(&response.url, reason))?
        .ok_or_else(|| Error::invalid_response(&response.url, "`expires_in` is missing"))?;
    Ok(PushedRequest {
        request_uri,
        expires_in,
    })
}
