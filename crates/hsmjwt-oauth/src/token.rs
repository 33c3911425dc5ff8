//! Access tokens and the strict parsing of token responses.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{Error, Result};

/// The unit of `expires_in` in a token response.
///
/// OAuth 2.0 endpoints answer in seconds (RFC 6749 5.1); some proprietary exchange
/// endpoints count **milliseconds** instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiresUnit {
    /// `expires_in` counts milliseconds (a proprietary endpoint).
    Milliseconds,
    /// `expires_in` counts seconds (RFC 6749).
    Seconds,
}

/// A bearer access token and its lifetime.
///
/// The token itself is a [`SecretString`]: `Debug` shows `[REDACTED]`, and it is wiped from
/// memory on drop. Read it with [`AccessToken::secret`] and
/// [`ExposeSecret::expose_secret`].
#[derive(Clone)]
pub struct AccessToken {
    token: SecretString,
    token_type: String,
    expires_in: Duration,
    issued_at: SystemTime,
    scope: Option<String>,
}

impl AccessToken {
    /// A bearer token valid for `expires_in` from now (for custom token sources and tests).
    pub fn new(token: SecretString, expires_in: Duration) -> Self {
        AccessToken {
            token,
            token_type: "bearer".to_owned(),
            expires_in,
            issued_at: SystemTime::now(),
            scope: None,
        }
    }

    /// Sets when the token was issued (by default: when the request was sent).
    #[must_use]
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = issued_at;
        self
    }

    /// The token. Treat it as a password: never log it.
    pub fn secret(&self) -> &SecretString {
        &self.token
    }

    /// The `Authorization` header value: `Bearer {token}`.
    pub fn authorization(&self) -> SecretString {
        SecretString::from(format!("Bearer {}", self.token.expose_secret()))
    }

    /// The token type as the server sent it (always some spelling of `bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The lifetime the server granted, converted from the endpoint's unit.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// When the request that obtained the token was sent (a conservative start of life).
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// `issued_at + expires_in` (saturating far in the future).
    pub fn expires_at(&self) -> SystemTime {
        self.issued_at
            .checked_add(self.expires_in)
            .unwrap_or(self.issued_at)
    }

    /// The `scope` the server reported, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("issued_at", &self.issued_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Parses a successful token response strictly: a JSON object without duplicate members,
/// with a non-empty string `access_token`, a `token_type` equal to `bearer` ignoring case,
/// and a positive integer `expires_in` in `unit`. `scope` is kept when it is a string.
///
/// `url` names the endpoint in errors; `issued_at` is when the request was sent.
///
/// # Errors
/// [`Error::InvalidResponse`] naming the member at fault (never quoting the token).
pub fn parse_token_response(
    body: &[u8],
    unit: ExpiresUnit,
    url: &str,
    issued_at: SystemTime,
) -> Result<AccessToken> {
    let mut map = hsmjwt_core::json::parse_object(body, "token response")
        .map_err(|e| Error::invalid_response(url, e.to_string()))?;
    let token = match map.remove("access_token") {
        Some(Value::String(s)) if !s.is_empty() => SecretString::from(s),
        Some(Value::String(_)) => {
            return Err(Error::invalid_response(url, "`access_token` is empty"));
        }
        Some(_) => {
            return Err(Error::invalid_response(
                url,
                "`access_token` is not a string",
            ));
        }
        None => return Err(Error::invalid_response(url, "`access_token` is missing")),
    };
    let token_type = match map.get("token_type") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => t.clone(),
        Some(Value::String(t)) => {
            let shown: String = t.chars().take(32).collect();
            return Err(Error::invalid_response(
                url,
                format!("`token_type` is `{shown}`, not bearer"),
            ));
        }
        Some(_) => return Err(Error::invalid_response(url, "`token_type` is not a string")),
        None => return Err(Error::invalid_response(url, "`token_type` is missing")),
    };
    let raw = match map.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            Error::invalid_response(url, "`expires_in` is not a non-negative integer")
        })?,
        Some(_) => return Err(Error::invalid_response(url, "`expires_in` is not a number")),
        None => return Err(Error::invalid_response(url, "`expires_in` is missing")),
    };
    if raw == 0 {
        return Err(Error::invalid_response(url, "`expires_in` is 0"));
    }
    let expires_in = match unit {
        ExpiresUnit::Milliseconds => Duration::from_millis(raw),
        ExpiresUnit::Seconds => Duration::from_secs(raw),
    };
    let scope = match map.get("scope") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    Ok(AccessToken {
        token,
        token_type,
        expires_in,
        issued_at,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, unit: ExpiresUnit) -> Result<AccessToken> {
        parse_token_response(body.as_bytes(), unit, "u", SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn units_and_case() {
        let t = parse(
            r#"{"token_type":"bearer","access_token":"AT","expires_in":86399999}"#,
            ExpiresUnit::Milliseconds,
        )
        .unwrap();
        assert_eq!(t.expires_in(), Duration::from_millis(86_399_999));
        let t = parse(
            r#"{"token_type":"Bearer","access_token":"AT","expires_in":86399,"scope":"a b"}"#,
            ExpiresUnit::Seconds,
        )
        .unwrap();
        assert_eq!(t.expires_in(), Duration::from_secs(86_399));
        assert_eq!(t.scope(), Some("a b"));
        assert!(!format!("{t:?}").contains("AT\""));
    }

    #[test]
    fn strict() {
        for (body, what) in [
            (r#"{"token_type":"bearer","expires_in":1}"#, "access_token"),
            (
                r#"{"token_type":"bearer","access_token":5,"expires_in":1}"#,
                "access_token",
            ),
            (
                r#"{"token_type":"bearer","access_token":"","expires_in":1}"#,
                "access_token",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x"}"#,
                "expires_in",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"1"}"#,
                "expires_in",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":-1}"#,
                "expires_in",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":1.5}"#,
                "expires_in",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":0}"#,
                "expires_in",
            ),
            (
                r#"{"token_type":"mac","access_token":"x","expires_in":1}"#,
                "token_type",
            ),
            (r#"{"access_token":"x","expires_in":1}"#, "token_type"),
            (
                r#"{"token_type":"bearer","access_token":"x","access_token":"y","expires_in":1}"#,
                "duplicate",
            ),
            ("[]", "object"),
            ("nope", "JSON"),
        ] {
            match parse(body, ExpiresUnit::Seconds) {
                Err(Error::InvalidResponse { reason, .. }) => {
                    assert!(reason.contains(what), "{body}: {reason}");
                    assert!(!reason.contains("\"x\""), "{reason}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
