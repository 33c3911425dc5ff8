//! Access tokens and the strict parsing of token responses.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{Error, Result};

/// The longest token lifetime accepted from an endpoint: 10 years of 365.25 days
/// (315 576 000 s, humantime's `10y`).
///
/// A token response whose `expires_in` is longer is refused, naming the value: real
/// endpoints grant minutes to days, and a lifetime of centuries is a fault of the server
/// (it would also overflow the date and clock arithmetic of whoever keeps the token).
/// [`AccessToken::new`] caps a longer lifetime at this one.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(315_576_000);

/// The lifetime assumed when a token response has no `expires_in` (RFC 6749 section 5.1
/// makes it RECOMMENDED, not required): 1 hour. The token is cached for it, and the
/// assumption is logged at `info` level.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);

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

impl ExpiresUnit {
    /// The unit's symbol: `ms` or `s`.
    fn symbol(self) -> &'static str {
        match self {
            ExpiresUnit::Milliseconds => "ms",
            ExpiresUnit::Seconds => "s",
        }
    }

    /// `value` of this unit as a duration.
    fn duration(self, value: u64) -> Duration {
        match self {
            ExpiresUnit::Milliseconds => Duration::from_millis(value),
            ExpiresUnit::Seconds => Duration::from_secs(value),
        }
    }

    /// [`MAX_EXPIRES_IN`] counted in this unit.
    fn max_value(self) -> u64 {
        match self {
            ExpiresUnit::Milliseconds => MAX_EXPIRES_IN.as_secs().saturating_mul(1000),
            ExpiresUnit::Seconds => MAX_EXPIRES_IN.as_secs(),
        }
    }
}

/// Reads an `expires_in` member (a token response's, a pushed authorization request's):
/// a positive whole number of `unit`s, at most [`MAX_EXPIRES_IN`], written as a JSON
/// integer, as a JSON number with a zero fraction (`3600.0`) or as a string of decimal
/// digits (`"3600"`, as Azure AD v1 sends it). `Ok(None)` when the member is absent.
///
/// # Errors
/// What is wrong, naming the member: negative, fractional, zero, too large, not a number
/// or a string of digits.
pub(crate) fn read_expires_in(
    value: Option<&Value>,
    unit: ExpiresUnit,
) -> std::result::Result<Option<Duration>, String> {
    let beyond = |shown: &str| {
        format!(
            "`expires_in` {shown} {} is beyond the supported maximum of {} {} (10 years)",
            unit.symbol(),
            unit.max_value(),
            unit.symbol()
        )
    };
    let raw = match value {
        None => return Ok(None),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) => v,
            (None, Some(f)) if f < 0.0 => return Err("`expires_in` is negative".to_owned()),
            (None, Some(f)) if f.fract() != 0.0 => {
                return Err("`expires_in` is not a whole number".to_owned());
            }
            // A whole number too large for a u64 (`1e300`), or one that was (`3600.0`).
            (None, Some(f)) if f >= u64::MAX as f64 => return Err(beyond(&n.to_string())),
            (None, Some(f)) => f as u64,
            (None, None) => return Err("`expires_in` is not a number".to_owned()),
        },
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map_err(|_| beyond(&hsmjwt_core::text::clean(s, 24)))?,
        Some(Value::String(_)) => {
            return Err("`expires_in` is a string but not a whole number".to_owned());
        }
        Some(_) => return Err("`expires_in` is not a number".to_owned()),
    };
    if raw == 0 {
        return Err("`expires_in` is 0".to_owned());
    }
    if raw > unit.max_value() {
        return Err(beyond(&raw.to_string()));
    }
    Ok(Some(unit.duration(raw)))
}

/// A bearer access token and its lifetime.
///
/// The token itself is a [`SecretString`]: `Debug` shows `[REDACTED]`, and it is wiped from
/// memory on drop. Read it with [`AccessToken::secret`] and
/// [`ExposeSecret::expose_secret`]. A refresh token or an ID token that came with it is
/// only noted as present, never kept.
#[derive(Clone)]
pub struct AccessToken {
    token: SecretString,
    token_type: String,
    expires_in: Duration,
    expires_in_assumed: bool,
    issued_at: SystemTime,
    scope: Option<String>,
    refresh_token: bool,
    id_token: bool,
}

impl AccessToken {
    /// A bearer token valid for `expires_in` from now (for custom token sources and tests).
    /// A lifetime longer than [`MAX_EXPIRES_IN`] saturates at it: a token that long-lived
    /// is, for every use of this crate, one that never expires.
    pub fn new(token: SecretString, expires_in: Duration) -> Self {
        AccessToken {
            token,
            token_type: "bearer".to_owned(),
            expires_in: expires_in.min(MAX_EXPIRES_IN),
            expires_in_assumed: false,
            issued_at: SystemTime::now(),
            scope: None,
            refresh_token: false,
            id_token: false,
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

    /// The lifetime the server granted, converted from the endpoint's unit (at most
    /// [`MAX_EXPIRES_IN`]), or [`DEFAULT_EXPIRES_IN`] when the response had no
    /// `expires_in` (see [`AccessToken::expires_in_assumed`]).
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// Whether the response had no `expires_in`, so that [`DEFAULT_EXPIRES_IN`] was
    /// assumed.
    pub fn expires_in_assumed(&self) -> bool {
        self.expires_in_assumed
    }

    /// When the request that obtained the token was sent (a conservative start of life).
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// `issued_at + expires_in`, or `None` when the platform's clock cannot represent that
    /// time (only for an `issued_at` set near the end of its range).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.issued_at.checked_add(self.expires_in)
    }

    /// The `scope` the server reported, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether the response also carried a `refresh_token` (which is not kept).
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token
    }

    /// Whether the response also carried an `id_token` (which is not kept).
    pub fn has_id_token(&self) -> bool {
        self.id_token
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("expires_in_assumed", &self.expires_in_assumed)
            .field("issued_at", &self.issued_at)
            .field("scope", &self.scope)
            .field("refresh_token", &self.refresh_token)
            .field("id_token", &self.id_token)
            .finish()
    }
}

/// Parses a successful token response strictly: a JSON object without duplicate members,
/// with a non-empty string `access_token` and a `token_type` equal to `bearer` ignoring
/// case. `expires_in` counts `unit`s and is read as `read_expires_in` describes (a
/// positive whole number up to [`MAX_EXPIRES_IN`]: an integer, `3600.0` or `"3600"`);
/// without it, the token is given [`DEFAULT_EXPIRES_IN`] (logged at `info`). `scope` is
/// kept when it is a string; a `refresh_token` or `id_token` string is noted as present,
/// never kept.
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
    let (expires_in, expires_in_assumed) = match read_expires_in(map.get("expires_in"), unit)
        .map_err(|reason| Error::invalid_response(url, reason))?
    {
        Some(d) => (d, false),
        None => {
            tracing::info!(
                url,
                default_s = DEFAULT_EXPIRES_IN.as_secs(),
                "the token response has no expires_in; assuming the default lifetime"
            );
            (DEFAULT_EXPIRES_IN, true)
        }
    };
    let scope = match map.get("scope") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    // Taken out of the map to be wiped on drop: only their presence is kept.
    let mut present = |name: &str| match map.remove(name) {
        Some(Value::String(s)) => !zeroize::Zeroizing::new(s).is_empty(),
        _ => false,
    };
    Ok(AccessToken {
        token,
        token_type,
        expires_in,
        expires_in_assumed,
        issued_at,
        scope,
        refresh_token: present("refresh_token"),
        id_token: present("id_token"),
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
    fn tolerant_expires_in_forms_and_extra_members() {
        let body = |expires_in: &str| {
            format!(r#"{{"token_type":"bearer","access_token":"AT"{expires_in}}}"#)
        };
        // Absent (RFC 6749 makes it RECOMMENDED): the documented default, marked assumed.
        let t = parse(&body(""), ExpiresUnit::Seconds).unwrap();
        assert_eq!(t.expires_in(), DEFAULT_EXPIRES_IN);
        assert!(t.expires_in_assumed());
        for (member, unit, expected) in [
            // Azure AD v1 sends a numeric string.
            (
                r#","expires_in":"3599""#,
                ExpiresUnit::Seconds,
                Duration::from_secs(3599),
            ),
            (
                r#","expires_in":3600.0"#,
                ExpiresUnit::Seconds,
                Duration::from_secs(3600),
            ),
            (
                r#","expires_in":"86399999""#,
                ExpiresUnit::Milliseconds,
                Duration::from_millis(86_399_999),
            ),
            (
                r#","expires_in":315576000"#,
                ExpiresUnit::Seconds,
                MAX_EXPIRES_IN,
            ),
            (
                r#","expires_in":315576000000"#,
                ExpiresUnit::Milliseconds,
                MAX_EXPIRES_IN,
            ),
        ] {
            let t = parse(&body(member), unit).unwrap_or_else(|e| panic!("{member}: {e}"));
            assert_eq!(t.expires_in(), expected, "{member}");
            assert!(!t.expires_in_assumed(), "{member}");
            assert_eq!(t.expires_at(), Some(SystemTime::UNIX_EPOCH + expected));
        }
        let t = parse(
            r#"{"token_type":"bearer","access_token":"AT","expires_in":60,"scope":"openid read","refresh_token":"RT-SECRET","id_token":"eyJ.ID.SECRET"}"#,
            ExpiresUnit::Seconds,
        )
        .unwrap();
        assert_eq!(t.scope(), Some("openid read"));
        assert!(t.has_refresh_token() && t.has_id_token());
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("RT-SECRET") && !shown.contains("ID.SECRET"),
            "{shown}"
        );
        let t = parse(
            &body(r#","expires_in":60,"refresh_token":"""#),
            ExpiresUnit::Seconds,
        )
        .unwrap();
        assert!(!t.has_refresh_token() && !t.has_id_token());
    }

    #[test]
    fn lifetimes_saturate_in_new_and_never_overflow() {
        let t = AccessToken::new(SecretString::from("t"), Duration::MAX);
        assert_eq!(t.expires_in(), MAX_EXPIRES_IN);
        assert!(t.expires_at().is_some());
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 - 10);
        let t = t.with_issued_at(far);
        assert_eq!(t.expires_at(), None);
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
                r#"{"token_type":"bearer","access_token":"x","expires_in":-1}"#,
                "`expires_in` is negative",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":-1.0}"#,
                "`expires_in` is negative",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":1.5}"#,
                "`expires_in` is not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":0}"#,
                "`expires_in` is 0",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":0.0}"#,
                "`expires_in` is 0",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"0"}"#,
                "`expires_in` is 0",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":4611686018427387904}"#,
                "`expires_in` 4611686018427387904 s is beyond the supported maximum of 315576000 s",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":315576001}"#,
                "`expires_in` 315576001 s is beyond",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":1e300}"#,
                "`expires_in` 1e+300 s is beyond",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"99999999999999999999999"}"#,
                "`expires_in` 99999999999999999999999 s is beyond",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"-1"}"#,
                "`expires_in` is a string but not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"1.5"}"#,
                "`expires_in` is a string but not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":" 60"}"#,
                "`expires_in` is a string but not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":"soon"}"#,
                "`expires_in` is a string but not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":""}"#,
                "`expires_in` is a string but not a whole number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":true}"#,
                "`expires_in` is not a number",
            ),
            (
                r#"{"token_type":"bearer","access_token":"x","expires_in":null}"#,
                "`expires_in` is not a number",
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
        // In milliseconds the maximum is the same 10 years.
        let err = parse(
            r#"{"token_type":"bearer","access_token":"x","expires_in":315576000001}"#,
            ExpiresUnit::Milliseconds,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("`expires_in` 315576000001 ms is beyond the supported maximum of 315576000000 ms (10 years)"),
            "{err}"
        );
    }
}
