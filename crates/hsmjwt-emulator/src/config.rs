//! What the IMS emulator serves: registered integrations, token lifetimes, and the faults
//! it can be told to answer with.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::{Algorithm, KeyKind, Verifier};
use hsmjwt_ims::{ConsoleCredential, CredentialsFile, OAuthCredentials, ServiceAccountCredentials};
use hsmjwt_soft::{PublicKey, SoftVerifier};
use secrecy::SecretString;

use crate::error::{Error, Result};

/// The endpoints the emulator counts requests for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /ims/exchange/jwt`.
    JwtExchange,
    /// `POST /ims/token/v3`.
    TokenV3,
    /// `POST /oauth/token`.
    OAuthToken,
}

impl Endpoint {
    /// How many endpoints are counted.
    pub(crate) const COUNT: usize = 3;

    pub(crate) fn index(self) -> usize {
        match self {
            Endpoint::JwtExchange => 0,
            Endpoint::TokenV3 => 1,
            Endpoint::OAuthToken => 2,
        }
    }
}

/// A fault the emulator answers with instead of (or before) a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, an optional `Retry-After` (seconds) and an OAuth error body.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
    },
    /// 429 Too Many Requests with `Retry-After` as an HTTP date.
    RetryAt(std::time::SystemTime),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with this status and this body verbatim (content type JSON).
    Body {
        /// HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
}

impl Fault {
    /// An error status (500, 502, 503, 400, ...).
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// 429 Too Many Requests with `Retry-After: {seconds}`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_seconds),
        }
    }

    /// 429 Too Many Requests with `Retry-After: <HTTP date of at>` (whole seconds; a time
    /// before 1970 or after 9999 is sent as the nearest date HTTP can express).
    pub fn too_many_requests_until(at: std::time::SystemTime) -> Self {
        Fault::RetryAt(at)
    }

    /// A slow answer.
    pub fn delay(d: Duration) -> Self {
        Fault::Delay(d)
    }

    /// A verbatim answer.
    pub fn body(status: u16, body: impl Into<String>) -> Self {
        Fault::Body {
            status,
            body: body.into(),
        }
    }
}

/// A service-account (JWT) registration.
#[derive(Clone)]
pub(crate) struct ServiceAccount {
    pub(crate) org_id: String,
    pub(crate) technical_account_id: String,
    pub(crate) ims_host: String,
    pub(crate) metascopes: Vec<String>,
}

/// A registered integration (client).
#[derive(Clone)]
pub struct Integration {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) service_account: Option<ServiceAccount>,
    pub(crate) scopes: Option<Vec<String>>,
    verifiers: Vec<Arc<SoftVerifier>>,
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("service_account", &self.service_account.is_some())
            .field("scopes", &self.scopes)
            .field("keys", &self.verifiers.len())
            .finish()
    }
}

impl Integration {
    /// A client with a secret and nothing else (for `/oauth/token` with client secrets).
    pub fn client(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Integration {
            client_id: client_id.into(),
            client_secret,
            service_account: None,
            scopes: None,
            verifiers: Vec::new(),
        }
    }

    /// A service-account integration from AEM-style credentials; `certificate_pem` (the
    /// AEM `publicKey`: a certificate or a public key PEM) is the registered key.
    ///
    /// # Errors
    /// [`Error::Registration`] when there is no certificate or public key, or it is unusable.
    pub fn from_service_account(creds: &ServiceAccountCredentials) -> Result<Self> {
        let pem = creds.certificate_pem.as_deref().ok_or_else(|| {
            Error::registration(format!(
                "integration `{}` has no certificate or public key (`publicKey`)",
                creds.client_id
            ))
        })?;
        let mut i = Integration::client(creds.client_id.clone(), creds.client_secret.clone())
            .with_public_key_pem(pem)?;
        i.service_account = Some(ServiceAccount {
            org_id: creds.org_id.clone(),
            technical_account_id: creds.technical_account_id.clone(),
            ims_host: creds.ims_host.clone(),
            metascopes: creds.metascopes.clone(),
        });
        Ok(i)
    }

    /// An OAuth server-to-server integration; its scopes are the ones it may request.
    pub fn from_oauth(creds: &OAuthCredentials) -> Self {
        Integration::client(creds.client_id.clone(), creds.client_secret.clone())
            .with_scopes(creds.scopes.clone())
    }

    /// Every integration a credentials file describes: the AEM integration, or the OAuth
    /// server-to-server credentials of a Console project (its JWT credentials carry no
    /// certificate and are skipped with a warning).
    ///
    /// # Errors
    /// [`Error::Registration`] when the file yields no usable integration.
    pub fn from_credentials_file(file: &CredentialsFile) -> Result<Vec<Self>> {
        match file {
            CredentialsFile::Aem(c) => Ok(vec![Self::from_service_account(c)?]),
            CredentialsFile::Console(p) => {
                let mut out = Vec::new();
                for c in &p.credentials {
                    match c {
                        ConsoleCredential::OAuthServerToServer(o) => out.push(Self::from_oauth(o)),
                        ConsoleCredential::Jwt(j) if j.certificate_pem.is_some() => {
                            out.push(Self::from_service_account(j)?);
                        }
                        ConsoleCredential::Jwt(j) => tracing::warn!(
                            client_id = %j.client_id,
                            "skipping a JWT credential without a certificate"
                        ),
                        _ => {}
                    }
                }
                if out.is_empty() {
                    return Err(Error::registration(
                        "the project has no OAuth server-to-server credential",
                    ));
                }
                Ok(out)
            }
            _ => Err(Error::registration("an unknown kind of credentials file")),
        }
    }

    /// Registers a public key (certificate, SPKI or PKCS#1 PEM) for the JWT exchange and
    /// `private_key_jwt`. RSA keys verify RS256 and PS256; EC keys ES256, ES384 or ES512
    /// by curve; Ed25519 keys EdDSA.
    ///
    /// # Errors
    /// [`Error::Registration`] when the PEM holds no usable public key.
    pub fn with_public_key_pem(mut self, pem: &str) -> Result<Self> {
        let bad = |e: hsmjwt_soft::Error| Error::registration(format!("unusable public key: {e}"));
        let key = PublicKey::from_pem(pem).map_err(bad)?;
        let algs = match key.params().kind() {
            KeyKind::Rsa => vec![Algorithm::RS256, Algorithm::PS256],
            other => vec![Algorithm::default_for(other)],
        };
        for alg in algs {
            if let Ok(v) = SoftVerifier::new(&key, alg) {
                self.verifiers.push(Arc::new(v));
            }
        }
        if self.verifiers.is_empty() {
            return Err(Error::registration(
                "the public key fits no supported algorithm",
            ));
        }
        Ok(self)
    }

    /// Limits the scopes this client may request (by default: any).
    #[must_use]
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&SoftVerifier> {
        self.verifiers
            .iter()
            .map(|v| &**v)
            .find(|v| v.algorithm() == alg)
    }
}

/// What the emulator serves and how.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) jwt_token_lifetime: Duration,
    pub(crate) v3_token_lifetime: Duration,
    pub(crate) oauth_token_lifetime: Duration,
    pub(crate) leeway: Duration,
    pub(crate) integrations: Vec<Integration>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_token_lifetime: Duration::from_millis(86_399_999),
            v3_token_lifetime: Duration::from_secs(86_399),
            oauth_token_lifetime: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
            integrations: Vec::new(),
        }
    }
}

impl EmulatorConfig {
    /// Listens on 127.0.0.1 on a free port, Adobe's token lifetimes, 30 s of skew.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `addr`, which must be a loopback address.
    ///
    /// # Errors
    /// [`Error::NotLoopback`] for a non-loopback address (the emulator speaks plain http).
    pub fn with_listen(mut self, addr: SocketAddr) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(Error::NotLoopback { addr });
        }
        self.listen = addr;
        Ok(self)
    }

    /// Registers an integration.
    #[must_use]
    pub fn with_integration(mut self, integration: Integration) -> Self {
        self.integrations.push(integration);
        self
    }

    /// Registers integrations.
    #[must_use]
    pub fn with_integrations(
        mut self,
        integrations: impl IntoIterator<Item = Integration>,
    ) -> Self {
        self.integrations.extend(integrations);
        self
    }

    /// The `expires_in` of JWT-exchange tokens (sent in milliseconds, whole ones; default
    /// 86399999 ms).
    ///
    /// # Errors
    /// [`Error::Setting`] for a lifetime a client refuses: under 1 ms, or beyond
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`].
    pub fn with_jwt_token_lifetime(mut self, d: Duration) -> Result<Self> {
        self.jwt_token_lifetime =
            token_lifetime("jwt_token_lifetime", d, Duration::from_millis(1))?;
        Ok(self)
    }

    /// The `expires_in` of `/ims/token/v3` tokens (sent in seconds, whole ones; default
    /// 86399 s).
    ///
    /// # Errors
    /// [`Error::Setting`] for a lifetime a client refuses: under 1 s, or beyond
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`].
    pub fn with_v3_token_lifetime(mut self, d: Duration) -> Result<Self> {
        self.v3_token_lifetime = token_lifetime("v3_token_lifetime", d, Duration::from_secs(1))?;
        Ok(self)
    }

    /// The `expires_in` of `/oauth/token` tokens (sent in seconds, whole ones; default
    /// 3600 s).
    ///
    /// # Errors
    /// [`Error::Setting`] for a lifetime a client refuses: under 1 s, or beyond
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`].
    pub fn with_oauth_token_lifetime(mut self, d: Duration) -> Result<Self> {
        self.oauth_token_lifetime =
            token_lifetime("oauth_token_lifetime", d, Duration::from_secs(1))?;
        Ok(self)
    }

    /// The clock skew tolerated on `exp`, `iat` and `nbf` (default 30 s).
    ///
    /// # Errors
    /// [`Error::Setting`] for a leeway beyond [`MAX_LEEWAY`]: a test server that accepts
    /// tokens expired for longer tests nothing.
    pub fn with_leeway(mut self, d: Duration) -> Result<Self> {
        self.leeway = leeway(d)?;
        Ok(self)
    }
}

/// The longest clock skew the test servers can be told to tolerate: 1 hour.
pub const MAX_LEEWAY: Duration = Duration::from_secs(3600);

/// A leeway setting, checked.
pub(crate) fn leeway(d: Duration) -> Result<Duration> {
    if d > MAX_LEEWAY {
        return Err(Error::Setting {
            setting: "leeway",
            reason: format!(
                "{} s is beyond the maximum of {} s",
                d.as_secs(),
                MAX_LEEWAY.as_secs()
            ),
        });
    }
    Ok(d)
}

/// A lifetime the server sends as `expires_in` in whole `unit`s (1 s or 1 ms), checked
/// against what a client accepts: at least one unit, at most
/// [`hsmjwt_oauth::MAX_EXPIRES_IN`].
pub(crate) fn token_lifetime(
    setting: &'static str,
    d: Duration,
    unit: Duration,
) -> Result<Duration> {
    let max = hsmjwt_oauth::MAX_EXPIRES_IN;
    let reason = if d < unit {
        format!(
            "{} ms is shorter than 1 {}: it would be sent as `expires_in` 0, which clients refuse",
            d.as_millis(),
            if unit < Duration::from_secs(1) {
                "ms"
            } else {
                "s"
            }
        )
    } else if d > max {
        format!(
            "{} s is beyond the longest token lifetime clients accept, {} s (10 years)",
            d.as_secs(),
            max.as_secs()
        )
    } else {
        return Ok(d);
    };
    Err(Error::Setting { setting, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_a_client_cannot_use_are_refused() {
        let c = EmulatorConfig::new;
        let s = Duration::from_secs;
        for (result, setting, what) in [
            (
                c().with_v3_token_lifetime(s(252_460_800_000)).map(drop),
                "v3_token_lifetime",
                "beyond",
            ),
            (
                c().with_v3_token_lifetime(Duration::from_millis(999))
                    .map(drop),
                "v3_token_lifetime",
                "shorter than 1 s",
            ),
            (
                c().with_oauth_token_lifetime(Duration::ZERO).map(drop),
                "oauth_token_lifetime",
                "shorter than 1 s",
            ),
            (
                c().with_oauth_token_lifetime(Duration::MAX).map(drop),
                "oauth_token_lifetime",
                "beyond",
            ),
            (
                c().with_jwt_token_lifetime(Duration::from_micros(999))
                    .map(drop),
                "jwt_token_lifetime",
                "shorter than 1 ms",
            ),
            (
                c().with_jwt_token_lifetime(s(315_576_001)).map(drop),
                "jwt_token_lifetime",
                "beyond",
            ),
            (c().with_leeway(s(3601)).map(drop), "leeway", "beyond"),
        ] {
            match result {
                Err(Error::Setting {
                    setting: got,
                    reason,
                }) => {
                    assert_eq!(got, setting);
                    assert!(reason.contains(what), "{setting}: {reason}");
                }
                other => panic!("{setting}: {other:?}"),
            }
        }
        let max = hsmjwt_oauth::MAX_EXPIRES_IN;
        c().with_jwt_token_lifetime(Duration::from_millis(1))
            .and_then(|c| c.with_jwt_token_lifetime(max))
            .and_then(|c| c.with_v3_token_lifetime(s(1)))
            .and_then(|c| c.with_v3_token_lifetime(max))
            .and_then(|c| c.with_oauth_token_lifetime(max))
            .and_then(|c| c.with_leeway(MAX_LEEWAY))
            .and_then(|c| c.with_leeway(Duration::ZERO))
            .unwrap();
    }

    /// A registered public key verifies the algorithms of its kind: RS256 and PS256 for
    /// RSA, the curve's own for EC, EdDSA for Ed25519.
    #[test]
    fn public_keys_register_their_algorithms() {
        use hsmjwt_soft::{KeySpec, PrivateKey};
        for (spec, expected) in [
            (
                KeySpec::Rsa(2048),
                &[Algorithm::RS256, Algorithm::PS256][..],
            ),
            (KeySpec::P256, &[Algorithm::ES256]),
            (KeySpec::P384, &[Algorithm::ES384]),
            (KeySpec::P521, &[Algorithm::ES512]),
            (KeySpec::Ed25519, &[Algorithm::EdDSA]),
        ] {
            let pem = PrivateKey::generate(spec)
                .unwrap()
                .public_key()
                .to_spki_pem();
            let i = Integration::client("c", SecretString::from("s"))
                .with_public_key_pem(&pem)
                .unwrap();
            let registered: Vec<Algorithm> = Algorithm::ALL
                .into_iter()
                .filter(|a| i.verifier(*a).is_some())
                .collect();
            assert_eq!(registered, expected, "{spec:?}");
        }
    }
}
