//! Server-side OAuth client authentication, shared by both servers: form parameters, the
//! method a client used (RFC 6749 2.3, RFC 7523), HTTP Basic credentials, secrets compared
//! in constant time, client assertions verified and their `jti`s remembered.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use hsmjwt_core::profile::client_assertion::ASSERTION_TYPE;
use hsmjwt_core::{Claims, NumericDate, Validation, Verifier};
use secrecy::{ExposeSecret, SecretString};

use crate::response::{Reject, invalid_client, invalid_request};

/// Largest JWT the servers parse (as the decoder's default).
pub(crate) const MAX_JWT: usize = 64 * 1024;

/// Parses form or query parameters; a repeated parameter is an error (RFC 6749 3.1),
/// returned as its description for the server's own error answer.
pub(crate) fn params(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("parameter `{k}` is repeated"));
        }
    }
    Ok(out)
}

/// [`params`] of a form body, which must be `application/x-www-form-urlencoded`.
pub(crate) fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        return Err("content type must be application/x-www-form-urlencoded".to_owned());
    }
    params(body)
}

/// Whether `given` is the secret, compared in constant time.
pub(crate) fn secret_matches(secret: &SecretString, given: &str) -> bool {
    let (a, b) = (secret.expose_secret().as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a client authenticated a request.
pub(crate) enum Presented<'a> {
    /// `client_secret_basic`: the form-urldecoded id and secret of `Authorization: Basic`.
    Basic {
        /// The client id.
        id: String,
        /// The secret.
        secret: String,
    },
    /// `client_secret_post`: the `client_secret` form field (the client is named by the
    /// `client_id` field).
    Post {
        /// The `client_secret` field.
        secret: &'a str,
    },
    /// `private_key_jwt`: the `client_assertion` (its type checked).
    Assertion {
        /// The assertion.
        jwt: &'a str,
    },
    /// No client authentication.
    None,
}

/// The one client authentication method of a request; more than one is an error.
pub(crate) fn presented<'a>(
    form: &'a HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Presented<'a>, Reject> {
    let basic = basic(headers)?;
    let secret = form.get("client_secret");
    let assertion_type = form.get("client_assertion_type");
    let methods = usize::from(basic.is_some())
        + usize::from(secret.is_some())
        + usize::from(assertion_type.is_some());
    if methods > 1 {
        return Err(invalid_request(
            "more than one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        return Ok(Presented::Basic { id, secret });
    }
    if let Some(secret) = secret {
        return Ok(Presented::Post { secret });
    }
    if let Some(t) = assertion_type {
        if t != ASSERTION_TYPE {
            return Err(invalid_client("unsupported client_assertion_type"));
        }
        let jwt = form
            .get("client_assertion")
            .map(String::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| invalid_client("client_assertion is missing"))?;
        return Ok(Presented::Assertion { jwt });
    }
    Ok(Presented::None)
}

/// Decodes `Authorization: Basic` into the form-urldecoded id and secret (RFC 6749
/// 2.3.1); `None` without the header.
pub(crate) fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, Reject> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| invalid_client("malformed Authorization header"))?;
    let Some(b64) = v.strip_prefix("Basic ") else {
        return Err(invalid_client("only Basic authorization is supported"));
    };
    let plain = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| invalid_client("malformed Basic credentials"))?;
    let plain =
        String::from_utf8(plain).map_err(|_| invalid_client("malformed Basic credentials"))?;
    let (id, secret) = plain
        .split_once(':')
        .ok_or_else(|| invalid_client("malformed Basic credentials"))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

/// `jti`s seen, each remembered until its token expires (plus the leeway): a second
/// sighting is a replay.
#[derive(Default)]
pub(crate) struct ReplayCache {
    seen: Mutex<HashMap<String, NumericDate>>,
}

impl ReplayCache {
    /// Records `jti` in `scope` (an issuer, say) until `exp`; false when it was seen already
    /// or there is no `jti`.
    pub(crate) fn first_use(
        &self,
        scope: &str,
        jti: Option<&str>,
        exp: Option<NumericDate>,
        leeway: std::time::Duration,
    ) -> bool {
        let Some(jti) = jti else { return false };
        let now = NumericDate::now();
        let mut seen = lock(&self.seen);
        seen.retain(|_, exp| *exp >= now.saturating_sub(leeway));
        seen.insert(format!("{scope}\u{0}{jti}"), exp.unwrap_or(now))
            .is_none()
    }
}

/// Why [`verify_jwt`] refused a JWT.
pub(crate) enum Refused {
    /// The decoder refused it (signature, claims, lifetime, ...).
    Invalid(hsmjwt_core::Error),
    /// Its `jti` was seen before (or it has none).
    Replayed,
}

impl Refused {
    /// Whether the signature was what failed.
    pub(crate) fn is_signature(&self) -> bool {
        matches!(self, Refused::Invalid(hsmjwt_core::Error::InvalidSignature))
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Invalid(e) => e.fmt(f),
            Refused::Replayed => f.write_str("jti was already used"),
        }
    }
}

/// Verifies a client-signed JWT (a client assertion, an authorization grant, a request
/// object): signature with `verifier`, then `validation`, then the `jti` is new in `scope`.
pub(crate) fn verify_jwt(
    jwt: &str,
    verifier: &dyn Verifier,
    validation: &Validation,
    replay: &ReplayCache,
    scope: &str,
) -> Result<Claims, Refused> {
    let token = hsmjwt_core::decode(jwt, verifier, validation).map_err(Refused::Invalid)?;
    if !replay.first_use(
        scope,
        token.claims.jti.as_deref(),
        token.claims.exp,
        validation.leeway,
    ) {
        return Err(Refused::Replayed);
    }
    Ok(token.claims)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
