//! Client assertions (RFC 7523, SPEC 1.6): `private_key_jwt` client authentication and the
//! JWT-bearer authorization grant.
//!
//! Claims: `iss` = client ID, `sub` = client ID (for client authentication) or the subject
//! the grant is for, `aud` = the token endpoint (or the issuer), `iat`, a short `exp`, and a
//! `jti` that is new for every assertion so the server can refuse replays.

use std::time::Duration;

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::error::Error;
use crate::header::Header;
use crate::sign::Signer;
use crate::time::NumericDate;
use crate::validation::Validation;

use super::{new_jti, require};

/// `client_assertion_type` for `private_key_jwt`.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `grant_type` of the RFC 7523 JWT-bearer authorization grant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Default assertion lifetime: 2 minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(120);

/// Longest assertion lifetime the builder accepts: 1 hour.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Checks an assertion lifetime against this profile's bounds: more than zero, at most
/// [`MAX_LIFETIME`]. [`ClientAssertion::claims`] applies it; callers that take a lifetime
/// from a user can apply it when they take it.
///
/// # Errors
/// [`Error::Build`] naming the lifetime and the bound.
pub fn check_lifetime(lifetime: Duration) -> Result<(), Error> {
    super::check_lifetime("client assertion", lifetime, MAX_LIFETIME)
}

/// A client assertion to be minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAssertion {
    /// The client ID: `iss`.
    pub client_id: String,
    /// The audience: the token endpoint URL or the authorization server's issuer.
    pub audience: String,
    /// `sub`; `None` means the client ID (client authentication).
    pub subject: Option<String>,
    /// Lifetime; at most [`MAX_LIFETIME`].
    pub lifetime: Duration,
}

impl ClientAssertion {
    /// An assertion for `client_id` towards `audience`, with the default lifetime.
    pub fn new(client_id: impl Into<String>, audience: impl Into<String>) -> Self {
        ClientAssertion {
            client_id: client_id.into(),
            audience: audience.into(),
            subject: None,
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets a subject other than the client ID (JWT-bearer grant on behalf of someone).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The claims as of `now`, with a fresh `jti`.
    ///
    /// # Errors
    /// [`Error::Build`] naming an empty client ID, audience or subject, or a lifetime that
    /// is zero or over an hour.
    pub fn claims(&self, now: NumericDate) -> Result<Claims, Error> {
        require("client_id", &self.client_id)?;
        require("audience", &self.audience)?;
        if let Some(sub) = &self.subject {
            require("subject", sub)?;
        }
        check_lifetime(self.lifetime)?;
        Ok(Claims::new()
            .with_issuer(self.client_id.clone())
            .with_subject(
                self.subject
                    .clone()
                    .unwrap_or_else(|| self.client_id.clone()),
            )
            .with_audience(self.audience.clone())
            .with_lifetime(now, self.lifetime)
            .with_jwt_id(new_jti()?))
    }

    /// Mints the assertion with `signer` (any algorithm; header `typ: JWT`).
    ///
    /// # Errors
    /// As [`ClientAssertion::claims`], and [`Error::Sign`] when signing fails.
    pub fn sign(&self, signer: &dyn Signer, now: NumericDate) -> Result<String, Error> {
        crate::jws::encode(&Header::jwt(Algorithm::RS256), &self.claims(now)?, signer)
    }
}

/// What a server checks in a client assertion from `client_id` addressed to `audience`:
/// `iss` = `sub` = client ID, the audience, `exp`, `iat` and `jti` present, lifetime at most
/// an hour. Replay of a `jti` must be checked by the server against its own store.
pub fn validation(client_id: &str, audience: &str) -> Validation {
    Validation::new()
        .with_issuer(client_id)
        .with_subject(client_id)
        .with_audience(audience)
        .require("iat")
        .require("jti")
        .with_max_lifetime(MAX_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_fresh_jti() {
        let a = ClientAssertion::new("client-1", "https://as.example/token");
        let now = NumericDate::from_unix(100);
        let c1 = a.claims(now).unwrap();
        let c2 = a.claims(now).unwrap();
        assert_eq!(c1.iss.as_deref(), Some("client-1"));
        assert_eq!(c1.iss, c1.sub);
        assert_eq!(c1.exp, Some(NumericDate::from_unix(220)));
        assert!(c1.jti.is_some());
        assert_ne!(c1.jti, c2.jti);
        let grant = a.clone().with_subject("user-7").claims(now).unwrap();
        assert_eq!(grant.sub.as_deref(), Some("user-7"));
    }

    #[test]
    fn refusals_name_the_field() {
        let now = NumericDate::from_unix(0);
        for (a, field) in [
            (ClientAssertion::new("", "aud"), "client_id"),
            (ClientAssertion::new("c", " "), "audience"),
            (ClientAssertion::new("c", "a").with_subject(""), "subject"),
            (
                ClientAssertion::new("c", "a").with_lifetime(Duration::from_secs(3601)),
                "lifetime",
            ),
        ] {
            match a.claims(now) {
                Err(Error::Build(m)) => assert!(m.contains(field), "{m}"),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
