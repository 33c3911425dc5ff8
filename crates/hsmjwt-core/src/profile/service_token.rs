//! The Adobe Pass `AD-Service-Token` request header (SPEC 1.4, seed 003).
//!
//! A JWS signed RS256 by an external identity service, header with `kid`, carrying the
//! user's unique identifier: `iss` (the identity service), `sub` (the user), `aud`
//! (`adobe`), `iat`, `exp`, `jti`, and optional claims such as `name`.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::error::Error;
use crate::header::Header;
use crate::jws::{Token, decode};
use crate::sign::{Signer, Verifier, with_key_id};
use crate::time::NumericDate;
use crate::validation::Validation;

use super::{add_claim, check_lifetime, new_jti, require, require_algorithm};

/// The HTTP request header's name.
pub const HEADER_NAME: &str = "AD-Service-Token";

/// The default (and usual) audience.
pub const DEFAULT_AUDIENCE: &str = "adobe";

/// The default lifetime: 10 minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// The longest lifetime the builder accepts: 24 hours.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An `AD-Service-Token` to be minted.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceToken {
    /// `iss`: the identity service.
    pub issuer: String,
    /// `sub`: the user's unique identifier.
    pub subject: String,
    /// `aud`; `adobe` by default.
    pub audience: String,
    /// Lifetime: `exp` = `iat` + lifetime.
    pub lifetime: Duration,
    /// `jti`; a random UUID v4 per token when `None`.
    pub jti: Option<String>,
    /// `kid` for the header; the signer's key id when `None`. One of the two is required.
    pub kid: Option<String>,
    /// Other claims, such as `name`.
    pub extra: Map<String, Value>,
}

impl ServiceToken {
    /// A token for `subject` issued by `issuer`, audience `adobe`, 10 minutes.
    pub fn new(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        ServiceToken {
            issuer: issuer.into(),
            subject: subject.into(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            lifetime: DEFAULT_LIFETIME,
            jti: None,
            kid: None,
            extra: Map::new(),
        }
    }

    /// Sets the audience.
    #[must_use]
    pub fn with_audience(mut self, aud: impl Into<String>) -> Self {
        self.audience = aud.into();
        self
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets a fixed `jti` instead of a random one.
    #[must_use]
    pub fn with_jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Sets the header `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Adds a claim such as `name`.
    ///
    /// # Errors
    /// [`Error::Build`] for a registered claim name (those have their own fields).
    pub fn with_claim(mut self, name: &str, value: impl Into<Value>) -> Result<Self, Error> {
        add_claim(&mut self.extra, &[], "the profile", name, value.into())?;
        Ok(self)
    }

    /// The claims as of `now`.
    ///
    /// # Errors
    /// [`Error::Build`] naming an empty issuer, subject, audience or `jti`, or a lifetime that
    /// is zero or over 24 h.
    pub fn claims(&self, now: NumericDate) -> Result<Claims, Error> {
        require("iss", &self.issuer)?;
        require("sub", &self.subject)?;
        require("aud", &self.audience)?;
        check_lifetime("AD-Service-Token", self.lifetime, MAX_LIFETIME)?;
        let jti = match &self.jti {
            Some(j) => {
                require("jti", j)?;
                j.clone()
            }
            None => new_jti()?,
        };
        let mut claims = Claims::new()
            .with_issuer(self.issuer.clone())
            .with_subject(self.subject.clone())
            .with_audience(self.audience.clone())
            .with_lifetime(now, self.lifetime)
            .with_jwt_id(jti);
        claims.extra = self.extra.clone();
        Ok(claims)
    }

    /// Mints the bare JWS with an RS256 `signer`; the header carries `kid`.
    ///
    /// # Errors
    /// [`Error::Build`] as for [`ServiceToken::claims`], when the signer is not RS256, or when
    /// there is no `kid` (neither set here nor known to the signer); [`Error::Sign`] when
    /// signing fails.
    pub fn sign(&self, signer: &dyn Signer, now: NumericDate) -> Result<String, Error> {
        require_algorithm(signer, Algorithm::RS256, "AD-Service-Token is signed RS256")?;
        let kid = self
            .kid
            .as_deref()
            .or(signer.key_id())
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                Error::Build("`kid` is missing: set one or use a signer with a key id".into())
            })?
            .to_owned();
        let claims = self.claims(now)?;
        crate::jws::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &with_key_id(signer, kid),
        )
    }

    /// Mints the token and returns the whole header line, `AD-Service-Token: <jws>`.
    ///
    /// # Errors
    /// As [`ServiceToken::sign`].
    pub fn header_line(&self, signer: &dyn Signer, now: NumericDate) -> Result<String, Error> {
        Ok(format!("{HEADER_NAME}: {}", self.sign(signer, now)?))
    }
}

/// Takes the JWS out of `AD-Service-Token: <jws>` (name case-insensitive) or returns a
/// bare JWS as it is, without surrounding whitespace.
pub fn strip_header_name(line: &str) -> &str {
    let line = line.trim();
    match line.split_once(':') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case(HEADER_NAME) => value.trim(),
        _ => line,
    }
}

/// The receiving side's rules: audience (`adobe` by default), `exp`, `iat` and `jti`
/// present, `iat` not in the future (with the default leeway). Add
/// [`Validation::with_issuer`] for the expected identity service.
pub fn validation(audience: &str) -> Validation {
    Validation::new()
        .with_audience(audience)
        .require("iat")
        .require("jti")
        .require("sub")
}

/// Verifies an `AD-Service-Token` (bare or as the whole header line): the key must be an
/// RS256 key, the header must carry a `kid`, then `validation` applies.
///
/// # Errors
/// [`Error::AlgorithmMismatch`] when `key` is not RS256, [`Error::InvalidHeader`] without a
/// `kid`, and any error of [`decode`].
pub fn verify(token: &str, key: &dyn Verifier, validation: &Validation) -> Result<Token, Error> {
    if key.algorithm() != Algorithm::RS256 {
        return Err(Error::AlgorithmMismatch {
            expected: Algorithm::RS256,
            found: key.algorithm(),
        });
    }
    let token = decode(strip_header_name(token), key, validation)?;
    if token.header.kid.as_deref().is_none_or(|k| k.is_empty()) {
        return Err(Error::InvalidHeader {
            name: "kid".into(),
            reason: "is missing (AD-Service-Token requires it)".into(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of seed 003 (Adobe Pass REST API v2 documentation).
    const SEED_003: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InFhcEVhWTBoWU52cGh5dHdJSTNTYWVfY0FLeUxTN0daT3F0VF9hNGFqZW8ifQ.eyJzdWIiOiJKYW5lIiwibmFtZSI6IkphbmUgU21pdGgiLCJpYXQiOjE1MTYyMzkwMjIsImlzcyI6ImFkb2JlIiwiZXhwIjoxNzIwMTUyODIwLCJhdWQiOiJhZG9iZSIsImp0aSI6IjNiMmZiMDQwLTMwYTktNDNkNy1iNjQ3LWQwMGFjNDk1YmFiIn0.stHLZFh-635LDNjv9HRHzq912ICNCVGUS3f4RS_bAxpUiUSB6CShS2VvU4V-THEXj7d_zk1mxtPP0QM_pCrh4Vk2GaPRa856Bt_PhsfQY-_benDcB6MIoFX67qrREGncGiv7JEs3ksa-P1YvBYXolT7t52K093kFaQtICfB-aBa8danRZvUrJHjjFoILEpTbQuzxKRN6y36J3p1FZ-SfDuofHp3SnXDrWFRYyXYQnb9WFlhNBxR400-0vzTONZYd097WWy1shMw5V8TvIDvCDE5ifqk31gMdYga-N3JkcTA5QoW7Zl80UV7BhR5v14Va1IZLcbFra_UJdEzbBwW_nA";

    #[test]
    fn seed_003_example_decodes() {
        let line = format!("{HEADER_NAME}: {SEED_003}");
        let t =
            crate::jws::decode_insecure(strip_header_name(&line)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.header.alg, Algorithm::RS256);
        assert_eq!(
            t.header.kid.as_deref(),
            Some("qapEaY0hYNvphytwII3Sae_cAKyLS7GZOqtT_a4ajeo")
        );
        let c = t.claims;
        assert_eq!(c.sub.as_deref(), Some("Jane"));
        assert_eq!(c.iss.as_deref(), Some("adobe"));
        assert!(c.aud.as_ref().is_some_and(|a| a.contains("adobe")));
        assert_eq!(c.iat, Some(NumericDate::from_unix(1_516_239_022)));
        assert_eq!(c.exp, Some(NumericDate::from_unix(1_720_152_820)));
        assert_eq!(
            c.jti.as_deref(),
            Some("3b2fb040-30a9-43d7-b647-d00ac495bab")
        );
        assert_eq!(c.extra.get("name"), Some(&Value::from("Jane Smith")));
    }

    #[test]
    fn builder_refusals_name_the_field() {
        let now = NumericDate::from_unix(0);
        for (t, field) in [
            (ServiceToken::new("", "u"), "iss"),
            (ServiceToken::new("i", " "), "sub"),
            (ServiceToken::new("i", "u").with_audience(""), "aud"),
            (ServiceToken::new("i", "u").with_jti(""), "jti"),
            (
                ServiceToken::new("i", "u").with_lifetime(Duration::ZERO),
                "lifetime",
            ),
            (
                ServiceToken::new("i", "u").with_lifetime(MAX_LIFETIME * 2),
                "lifetime",
            ),
        ] {
            match t.claims(now) {
                Err(Error::Build(m)) => assert!(m.contains(field), "{m}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(ServiceToken::new("i", "u").with_claim("exp", 1).is_err());
    }
}
