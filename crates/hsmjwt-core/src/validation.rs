//! What a verified token's header and claims must satisfy.

use std::sync::Arc;
use std::time::Duration;

use crate::claims::Claims;
use crate::error::Error;
use crate::header::Header;
use crate::time::{Clock, NumericDate, SystemClock};

/// The default size limit for a compact token: 64 KiB.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 64 * 1024;

/// The default clock-skew allowance: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Rules applied after a token's signature has been checked.
///
/// The default requires `exp`, allows 30 s of leeway, rejects a token that carries an
/// `aud` when no audience is expected (RFC 7519 section 4.1.3), and limits tokens to 64 KiB.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Validation {
    /// Accepted issuers; empty means `iss` is not checked.
    pub issuers: Vec<String>,
    /// Accepted audiences; the token's `aud` must contain one. Empty means: a token with an
    /// `aud` is rejected, unless [`Validation::allow_any_audience`] is set.
    pub audiences: Vec<String>,
    /// Accept any audience (for inspection tools only).
    pub allow_any_audience: bool,
    /// The required subject, if any.
    pub subject: Option<String>,
    /// Allowed clock skew for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Longest accepted `exp - iat` (or `exp - now` when `iat` is absent).
    pub max_lifetime: Option<Duration>,
    /// Claims that must be present (default: `exp`).
    pub required_claims: Vec<String>,
    /// Required `typ` header, compared case-insensitively and ignoring an `application/` prefix.
    pub typ: Option<String>,
    /// Extension header names listed in `crit` that the caller understands and checks itself.
    pub understood_crit: Vec<String>,
    /// Largest accepted compact token in bytes.
    pub max_token_size: usize,
    /// The clock; the system clock by default.
    pub clock: Arc<dyn Clock>,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            issuers: Vec::new(),
            audiences: Vec::new(),
            allow_any_audience: false,
            subject: None,
            leeway: DEFAULT_LEEWAY,
            max_lifetime: None,
            required_claims: vec!["exp".to_owned()],
            typ: None,
            understood_crit: Vec::new(),
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            clock: Arc::new(SystemClock),
        }
    }
}

impl Validation {
    /// The default rules; see [`Validation`].
    pub fn new() -> Self {
        Validation::default()
    }

    /// Accepts this issuer (may be called several times).
    #[must_use]
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuers.push(iss.into());
        self
    }

    /// Accepts this audience (may be called several times).
    #[must_use]
    pub fn with_audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Accepts any audience.
    #[must_use]
    pub fn with_any_audience(mut self) -> Self {
        self.allow_any_audience = true;
        self
    }

    /// Requires this subject.
    #[must_use]
    pub fn with_subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// Sets the leeway.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the maximum lifetime.
    #[must_use]
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Requires a claim to be present.
    #[must_use]
    pub fn require(mut self, claim: impl Into<String>) -> Self {
        let claim = claim.into();
        if !self.required_claims.contains(&claim) {
            self.required_claims.push(claim);
        }
        self
    }

    /// Replaces the list of required claims (an empty list makes `exp` optional).
    #[must_use]
    pub fn with_required_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_claims = claims.into_iter().map(Into::into).collect();
        self
    }

    /// Requires a `typ` header.
    #[must_use]
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Declares a `crit` extension as understood.
    #[must_use]
    pub fn understand_crit(mut self, name: impl Into<String>) -> Self {
        self.understood_crit.push(name.into());
        self
    }

    /// Sets the token size limit.
    #[must_use]
    pub fn with_max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets a fixed time (seconds since the epoch) instead of the system clock.
    #[must_use]
    pub fn at(self, now: NumericDate) -> Self {
        self.with_clock(Arc::new(crate::time::FixedClock(now)))
    }

    /// Checks the header members that must be checked before the signature: `crit`.
    ///
    /// # Errors
    /// [`Error::UnsupportedCritical`] for a `crit` name not declared understood.
    pub fn check_crit(&self, header: &Header) -> Result<(), Error> {
        if let Some(crit) = &header.crit
            && let Some(name) = crit.iter().find(|n| !self.understood_crit.contains(n))
        {
            return Err(Error::UnsupportedCritical(name.clone()));
        }
        Ok(())
    }

    /// Checks the header's `typ` and the claims against these rules.
    ///
    /// # Errors
    /// The first rule broken, as its own [`Error`] variant.
    pub fn validate(&self, header: &Header, claims: &Claims) -> Result<(), Error> {
        if let Some(expected) = &self.typ {
            let found = header.typ.as_deref().unwrap_or("");
            if !typ_eq(expected, found) {
                return Err(Error::InvalidType {
                    expected: expected.clone(),
                    found: found.to_owned(),
                });
            }
        }
        for name in &self.required_claims {
            let present = match name.as_str() {
                "iss" => claims.iss.is_some(),
                "sub" => claims.sub.is_some(),
                "aud" => claims.aud.is_some(),
                "exp" => claims.exp.is_some(),
                "nbf" => claims.nbf.is_some(),
                "iat" => claims.iat.is_some(),
                "jti" => claims.jti.is_some(),
                other => claims.extra.contains_key(other),
            };
            if !present {
                return Err(Error::MissingClaim(name.clone()));
            }
        }
        let now = self.clock.now();
        if let Some(exp) = claims.exp
            && now > exp.saturating_add(self.leeway)
        {
            return Err(Error::Expired { exp, now });
        }
        if let Some(nbf) = claims.nbf
            && now.saturating_add(self.leeway) < nbf
        {
            return Err(Error::NotYetValid { nbf, now });
        }
        if let Some(iat) = claims.iat
            && now.saturating_add(self.leeway) < iat
        {
            return Err(Error::IssuedInFuture { iat, now });
        }
        if let Some(max) = self.max_lifetime {
            let Some(exp) = claims.exp else {
                return Err(Error::MissingClaim("exp".into()));
            };
            let start = claims.iat.unwrap_or(now);
            let lifetime = exp.as_unix().saturating_sub(start.as_unix());
            let limit = max.saturating_add(self.leeway).as_secs();
            if u64::try_from(lifetime).is_ok_and(|l| l > limit) {
                return Err(Error::LifetimeTooLong {
                    lifetime,
                    max: max.as_secs(),
                });
            }
        }
        if !self.issuers.is_empty() {
            match &claims.iss {
                None => return Err(Error::MissingClaim("iss".into())),
                Some(iss) if !self.issuers.contains(iss) => {
                    return Err(Error::InvalidIssuer(iss.clone()));
                }
                Some(_) => {}
            }
        }
        if let Some(sub) = &self.subject {
            match &claims.sub {
                None => return Err(Error::MissingClaim("sub".into())),
                Some(s) if s != sub => return Err(Error::InvalidSubject(s.clone())),
                Some(_) => {}
            }
        }
        if !self.allow_any_audience {
            match (&claims.aud, self.audiences.is_empty()) {
                (None, true) => {}
                (None, false) => return Err(Error::MissingClaim("aud".into())),
                (Some(aud), true) => return Err(Error::UnexpectedAudience(aud.to_vec())),
                (Some(aud), false) => {
                    if !self.audiences.iter().any(|a| aud.contains(a)) {
                        return Err(Error::InvalidAudience(aud.to_vec()));
                    }
                }
            }
        }
        Ok(())
    }
}

fn typ_eq(expected: &str, found: &str) -> bool {
    fn strip(s: &str) -> &str {
        match (s.get(..12), s.get(12..)) {
            (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("application/") => rest,
            _ => s,
        }
    }
    strip(expected).eq_ignore_ascii_case(strip(found))
}
