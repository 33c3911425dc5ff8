//! JWT-secured authorization requests (RFC 9101, SPEC 1.5), pushed authorization requests
//! (RFC 9126) and PKCE (RFC 7636).
//!
//! The authorization parameters go into one signed request object (header `typ:
//! oauth-authz-req+jwt`), sent as `request=<jwt>` to the authorization endpoint or pushed to
//! the PAR endpoint, which returns a `request_uri` to send instead.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::alg::{Algorithm, HashAlg};
use crate::claims::Claims;
use crate::error::Error;
use crate::header::Header;
use crate::sign::Signer;
use crate::time::NumericDate;
use crate::validation::Validation;

use super::{add_claim, check_lifetime, new_jti, random_bytes, require};

/// The request object's `typ` (RFC 9101 section 10.8).
pub const TYP: &str = "oauth-authz-req+jwt";

/// Default request object lifetime: 5 minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Longest request object lifetime the builder accepts: 1 hour.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Parameters that the builder sets itself; [`RequestObject::with_param`] refuses them.
const OWN_PARAMS: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
];

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A new random verifier (32 random bytes, 43 characters) and its challenge.
    ///
    /// # Errors
    /// [`Error::Build`] when no random numbers are available.
    pub fn generate() -> Result<Self, Error> {
        Pkce::from_verifier(crate::b64::encode(&random_bytes(32)?))
    }

    /// Uses a given verifier.
    ///
    /// # Errors
    /// [`Error::Build`] unless it is 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
    pub fn from_verifier(verifier: impl Into<String>) -> Result<Self, Error> {
        let verifier = verifier.into();
        let ok_chars = verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !(43..=128).contains(&verifier.len()) || !ok_chars {
            return Err(Error::Build(
                "PKCE `code_verifier` must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
            ));
        }
        let challenge = crate::b64::encode(&HashAlg::Sha256.digest(verifier.as_bytes()));
        Ok(Pkce {
            verifier,
            challenge,
        })
    }

    /// The verifier, to be kept by the client and sent to the token endpoint later.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The S256 challenge: `BASE64URL(SHA256(verifier))`.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The challenge method, always `S256`.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

/// A JAR request object to be minted.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestObject {
    /// The client ID: `iss` and `client_id`.
    pub client_id: String,
    /// The authorization server's issuer identifier: `aud`.
    pub issuer: String,
    /// `response_type`, `code` by default.
    pub response_type: String,
    /// `redirect_uri`: an absolute URI.
    pub redirect_uri: String,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// PKCE `code_challenge` (S256).
    pub code_challenge: Option<String>,
    /// Lifetime; default 5 minutes, at most an hour.
    pub lifetime: Duration,
    /// Other authorization parameters (`prompt`, `login_hint`, `claims`, ...).
    pub extra: Map<String, Value>,
}

impl RequestObject {
    /// A request object for `client_id` to the authorization server `issuer`, redirecting
    /// to `redirect_uri`, with `response_type=code`.
    pub fn new(
        client_id: impl Into<String>,
        issuer: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        RequestObject {
            client_id: client_id.into(),
            issuer: issuer.into(),
            response_type: "code".into(),
            redirect_uri: redirect_uri.into(),
            scope: None,
            state: None,
            nonce: None,
            code_challenge: None,
            lifetime: DEFAULT_LIFETIME,
            extra: Map::new(),
        }
    }

    /// Sets `response_type`.
    #[must_use]
    pub fn with_response_type(mut self, rt: impl Into<String>) -> Self {
        self.response_type = rt.into();
        self
    }

    /// Sets `scope`.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets `state`.
    #[must_use]
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets `nonce`.
    #[must_use]
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Adds the PKCE S256 challenge of `pkce`.
    #[must_use]
    pub fn with_pkce(mut self, pkce: &Pkce) -> Self {
        self.code_challenge = Some(pkce.challenge().to_owned());
        self
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Adds another authorization parameter.
    ///
    /// # Errors
    /// [`Error::Build`] for a parameter the builder sets itself or a registered claim.
    pub fn with_param(mut self, name: &str, value: impl Into<Value>) -> Result<Self, Error> {
        add_claim(
            &mut self.extra,
            OWN_PARAMS,
            "the request object builder",
            name,
            value.into(),
        )?;
        Ok(self)
    }

    /// The claims as of `now`: `iss`, `aud`, `client_id`, `response_type`, `redirect_uri`,
    /// `scope`, `state`, `nonce`, PKCE, `iat`, `nbf`, `exp`, and a fresh `jti`.
    ///
    /// # Errors
    /// [`Error::Build`] naming an empty client ID, issuer, response type or redirect URI, a
    /// redirect URI that is not absolute, an empty optional value, or a lifetime that is
    /// zero or over an hour.
    pub fn claims(&self, now: NumericDate) -> Result<Claims, Error> {
        require("client_id", &self.client_id)?;
        require("issuer (aud)", &self.issuer)?;
        require("response_type", &self.response_type)?;
        require("redirect_uri", &self.redirect_uri)?;
        if !self.redirect_uri.contains("://") {
            return Err(Error::Build(format!(
                "`redirect_uri` must be an absolute URI, not `{}`",
                self.redirect_uri
            )));
        }
        check_lifetime("request object", self.lifetime, MAX_LIFETIME)?;
        let mut claims = Claims::new()
            .with_issuer(self.client_id.clone())
            .with_audience(self.issuer.clone())
            .with_lifetime(now, self.lifetime)
            .with_not_before(now)
            .with_jwt_id(new_jti()?);
        let mut put = |name: &str, value: &str| {
            claims.extra.insert(name.to_owned(), Value::from(value));
        };
        put("client_id", &self.client_id);
        put("response_type", &self.response_type);
        put("redirect_uri", &self.redirect_uri);
        for (name, value) in [
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
        ] {
            if let Some(v) = value {
                require(name, v)?;
                put(name, v);
            }
        }
        if self.code_challenge.is_some() {
            put("code_challenge_method", "S256");
        }
        for (k, v) in &self.extra {
            claims.extra.insert(k.clone(), v.clone());
        }
        Ok(claims)
    }

    /// Mints the request object with `signer` (RS256, PS256 or ES256 are the usual
    /// choices); the header carries `typ: oauth-authz-req+jwt` and the signer's `kid`.
    ///
    /// # Errors
    /// As [`RequestObject::claims`], and [`Error::Sign`] when signing fails.
    pub fn sign(&self, signer: &dyn Signer, now: NumericDate) -> Result<String, Error> {
        let header = Header::new(Algorithm::RS256).with_typ(TYP);
        crate::jws::encode(&header, &self.claims(now)?, signer)
    }
}

/// Characters escaped in query values: everything but `A-Z a-z 0-9 - . _ ~`.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn append_query(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut url = endpoint.to_owned();
    let mut sep = if endpoint.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.extend(utf8_percent_encode(v, QUERY));
        sep = '&';
    }
    url
}

/// The authorization URL carrying the request object by value:
/// `{endpoint}?client_id=...&request=...`.
pub fn authorization_url(authorize_endpoint: &str, client_id: &str, request: &str) -> String {
    append_query(
        authorize_endpoint,
        &[("client_id", client_id), ("request", request)],
    )
}

/// The authorization URL after a pushed authorization request:
/// `{endpoint}?client_id=...&request_uri=...`.
pub fn par_authorization_url(
    authorize_endpoint: &str,
    client_id: &str,
    request_uri: &str,
) -> String {
    append_query(
        authorize_endpoint,
        &[("client_id", client_id), ("request_uri", request_uri)],
    )
}

/// What an authorization server checks in a request object from `client_id`: `typ`,
/// `iss` = the client, `aud` = its own `issuer`, `exp`, `iat` and `jti` present, lifetime
/// at most an hour. The `client_id` claim must also equal the client (see
/// [`check_client_id`]); `jti` replay is the server's own store's business.
pub fn validation(client_id: &str, issuer: &str) -> Validation {
    Validation::new()
        .with_typ(TYP)
        .with_issuer(client_id)
        .with_audience(issuer)
        .require("iat")
        .require("jti")
        .with_max_lifetime(MAX_LIFETIME)
}

/// Checks that the request object's `client_id` claim equals the `client_id` sent beside
/// it (RFC 9101 section 5).
///
/// # Errors
/// [`Error::MissingClaim`] or [`Error::InvalidClaim`].
pub fn check_client_id(claims: &Claims, client_id: &str) -> Result<(), Error> {
    match claims.extra.get("client_id") {
        None => Err(Error::MissingClaim("client_id".into())),
        Some(Value::String(c)) if c == client_id => Ok(()),
        Some(_) => Err(Error::InvalidClaim {
            name: "client_id".into(),
            reason: "does not match the client_id of the request".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    /// RFC 7636 appendix B (value checked with `openssl dgst -sha256 -binary | base64url`).
    fn rfc7636_appendix_b_challenge() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!format!("{p:?}").contains("dBjftJ"));
        assert!(Pkce::from_verifier("short").is_err());
        assert!(Pkce::from_verifier("x".repeat(43) + " ").is_err());
        let g = Pkce::generate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.verifier().len(), 43);
    }

    #[test]
    fn claims_and_urls() {
        let r = RequestObject::new("c1", "https://as.example", "https://app.example/cb")
            .with_scope("openid profile")
            .with_state("s")
            .with_nonce("n")
            .with_pkce(
                &Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        let c = r
            .claims(NumericDate::from_unix(10))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.iss.as_deref(), Some("c1"));
        assert_eq!(c.nbf, Some(NumericDate::from_unix(10)));
        assert_eq!(c.exp, Some(NumericDate::from_unix(310)));
        assert_eq!(c.extra["code_challenge_method"], "S256");
        assert!(check_client_id(&c, "c1").is_ok());
        assert!(check_client_id(&c, "c2").is_err());
        assert_eq!(
            authorization_url("https://as.example/authorize?x=1", "c 1", "a.b_c"),
            "https://as.example/authorize?x=1&client_id=c%201&request=a.b_c"
        );
        assert_eq!(
            par_authorization_url(
                "https://as.example/authorize",
                "c1",
                "urn:ietf:params:oauth:request_uri:abc"
            ),
            "https://as.example/authorize?client_id=c1&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let now = NumericDate::from_unix(0);
        let base = || RequestObject::new("c", "https://as", "https://app/cb");
        for (r, field) in [
            (RequestObject::new("", "i", "https://x"), "client_id"),
            (RequestObject::new("c", "", "https://x"), "issuer"),
            (RequestObject::new("c", "i", ""), "redirect_uri"),
            (RequestObject::new("c", "i", "/relative"), "redirect_uri"),
            (base().with_response_type(""), "response_type"),
            (base().with_state(""), "state"),
            (base().with_lifetime(Duration::from_secs(7200)), "lifetime"),
        ] {
            match r.claims(now) {
                Err(Error::Build(m)) => assert!(m.contains(field), "{m}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(base().with_param("redirect_uri", "x").is_err());
        assert!(base().with_param("prompt", "login").is_ok());
    }
}
