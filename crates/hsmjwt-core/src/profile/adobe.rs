//! The Adobe service-account JWT (SPEC 1.1, AEM service credentials).
//!
//! Signed RS256 with the key whose certificate is registered with the integration; claims
//! `iss` = organization ID, `sub` = technical account ID, `aud` =
//! `https://{ims-host}/c/{client_id}`, `exp` (at most 24 h ahead), `iat`, and one claim per
//! metascope: `"https://{ims-host}/s/{metascope}": true`.
//!
//! The IMS *host* (e.g. `ims-na1.adobelogin.com`) names the identity provider inside the
//! token; where the token is sent is a separate base URL.

use std::time::Duration;

use serde_json::Value;

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::error::Error;
use crate::header::Header;
use crate::sign::Signer;
use crate::time::NumericDate;
use crate::validation::Validation;

use super::{check_lifetime, require, require_algorithm};

/// Adobe's production IMS host.
pub const DEFAULT_IMS_HOST: &str = "ims-na1.adobelogin.com";

/// Adobe's stage IMS host.
pub const STAGE_IMS_HOST: &str = "ims-na1-stg1.adobelogin.com";

/// The longest lifetime IMS accepts for a service-account JWT: 24 hours.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The default lifetime of a minted JWT: 5 minutes (it is exchanged at once).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// The `aud` claim: `https://{ims_host}/c/{client_id}`.
pub fn audience(ims_host: &str, client_id: &str) -> String {
    format!("https://{ims_host}/c/{client_id}")
}

/// The claim name for a metascope: `https://{ims_host}/s/{metascope}`, or the metascope
/// itself when it is already a full `https://` URL.
pub fn metascope_claim(ims_host: &str, metascope: &str) -> String {
    if metascope.starts_with("https://") {
        metascope.to_owned()
    } else {
        format!("https://{ims_host}/s/{metascope}")
    }
}

/// Splits a comma-separated metascope list (as in AEM service credentials), trimming
/// blanks and dropping empty items.
pub fn split_metascopes(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A service-account JWT to be exchanged at Adobe IMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountJwt {
    /// Organization ID (`...@AdobeOrg`): the `iss` claim.
    pub org_id: String,
    /// Technical account ID (`...@techacct.adobe.com`): the `sub` claim.
    pub technical_account_id: String,
    /// The integration's client ID, part of `aud`.
    pub client_id: String,
    /// The IMS host named in `aud` and in metascope claims.
    pub ims_host: String,
    /// Metascopes, each becoming a `true` claim.
    pub metascopes: Vec<String>,
    /// Lifetime: `exp` = `iat` + lifetime; at most [`MAX_LIFETIME`].
    pub lifetime: Duration,
}

impl ServiceAccountJwt {
    /// A JWT for this integration with the default lifetime and no metascope yet.
    pub fn new(
        org_id: impl Into<String>,
        technical_account_id: impl Into<String>,
        client_id: impl Into<String>,
        ims_host: impl Into<String>,
    ) -> Self {
        ServiceAccountJwt {
            org_id: org_id.into(),
            technical_account_id: technical_account_id.into(),
            client_id: client_id.into(),
            ims_host: ims_host.into(),
            metascopes: Vec::new(),
            lifetime: DEFAULT_LIFETIME,
        }
    }

    /// Adds a metascope.
    #[must_use]
    pub fn with_metascope(mut self, metascope: impl Into<String>) -> Self {
        self.metascopes.push(metascope.into());
        self
    }

    /// Adds several metascopes.
    #[must_use]
    pub fn with_metascopes<I, S>(mut self, metascopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.metascopes
            .extend(metascopes.into_iter().map(Into::into));
        self
    }

    /// Sets the lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    fn check(&self) -> Result<(), Error> {
        require("org_id (iss)", &self.org_id)?;
        require("technical_account_id (sub)", &self.technical_account_id)?;
        require("client_id", &self.client_id)?;
        require("ims_host", &self.ims_host)?;
        if self.ims_host.contains('/') {
            return Err(Error::Build(format!(
                "`ims_host` must be a bare host name, not `{}`",
                self.ims_host
            )));
        }
        if self.metascopes.iter().all(|m| m.trim().is_empty()) {
            return Err(Error::Build(
                "`metascopes` is empty: at least one is needed".into(),
            ));
        }
        check_lifetime("service-account JWT", self.lifetime, MAX_LIFETIME)
    }

    /// The claims as of `now`.
    ///
    /// # Errors
    /// [`Error::Build`] naming the missing or out-of-range field: an empty ID, a host with a
    /// path, no metascope, a zero lifetime or one over 24 h.
    pub fn claims(&self, now: NumericDate) -> Result<Claims, Error> {
        self.check()?;
        let mut claims = Claims::new()
            .with_issuer(self.org_id.clone())
            .with_subject(self.technical_account_id.clone())
            .with_audience(audience(&self.ims_host, &self.client_id))
            .with_lifetime(now, self.lifetime);
        for m in self.metascopes.iter().filter(|m| !m.trim().is_empty()) {
            claims
                .extra
                .insert(metascope_claim(&self.ims_host, m.trim()), Value::Bool(true));
        }
        Ok(claims)
    }

    /// Mints the JWT with `signer`, which must be an RS256 signer.
    ///
    /// # Errors
    /// [`Error::Build`] as for [`ServiceAccountJwt::claims`] or when the signer is not
    /// RS256; [`Error::Sign`] when signing fails.
    pub fn sign(&self, signer: &dyn Signer, now: NumericDate) -> Result<String, Error> {
        require_algorithm(signer, Algorithm::RS256, "Adobe IMS requires RS256")?;
        crate::jws::encode(&Header::jwt(Algorithm::RS256), &self.claims(now)?, signer)
    }

    /// What IMS checks on receipt: issuer, subject, audience, `exp` required, lifetime at
    /// most 24 h. Metascopes are checked by [`ServiceAccountJwt::check_metascopes`].
    pub fn validation(&self) -> Validation {
        Validation::new()
            .with_issuer(self.org_id.clone())
            .with_subject(self.technical_account_id.clone())
            .with_audience(audience(&self.ims_host, &self.client_id))
            .with_max_lifetime(MAX_LIFETIME)
    }

    /// Checks that every metascope of this integration is claimed as `true`, and that no
    /// metascope claim of the IMS host names one the integration does not have.
    ///
    /// # Errors
    /// [`Error::MissingClaim`] for a missing metascope, [`Error::InvalidClaim`] for one
    /// that is not `true` or not granted.
    pub fn check_metascopes(&self, claims: &Claims) -> Result<(), Error> {
        let granted: Vec<String> = self
            .metascopes
            .iter()
            .map(|m| metascope_claim(&self.ims_host, m.trim()))
            .collect();
        for name in &granted {
            match claims.extra.get(name) {
                None => return Err(Error::MissingClaim(name.clone())),
                Some(Value::Bool(true)) => {}
                Some(_) => {
                    return Err(Error::InvalidClaim {
                        name: name.clone(),
                        reason: "must be true".into(),
                    });
                }
            }
        }
        let prefix = format!("https://{}/s/", self.ims_host);
        if let Some(extra) = claims
            .extra
            .keys()
            .find(|k| k.starts_with(&prefix) && !granted.contains(k))
        {
            return Err(Error::InvalidClaim {
                name: extra.clone(),
                reason: "is a metascope this integration does not have".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt() -> ServiceAccountJwt {
        ServiceAccountJwt::new(
            "ORG@AdobeOrg",
            "TECH@techacct.adobe.com",
            "cm-p1-e2",
            DEFAULT_IMS_HOST,
        )
        .with_metascopes(split_metascopes(
            "ent_aem_cloud_api, https://x.example/s/full",
        ))
    }

    #[test]
    fn claims_have_the_adobe_shape() {
        let c = jwt().claims(NumericDate::from_unix(1000)).unwrap();
        assert_eq!(c.iss.as_deref(), Some("ORG@AdobeOrg"));
        assert_eq!(c.sub.as_deref(), Some("TECH@techacct.adobe.com"));
        assert!(
            c.aud
                .as_ref()
                .is_some_and(|a| a.contains("https://ims-na1.adobelogin.com/c/cm-p1-e2"))
        );
        assert_eq!(c.exp, Some(NumericDate::from_unix(1300)));
        assert_eq!(
            c.extra
                .get("https://ims-na1.adobelogin.com/s/ent_aem_cloud_api"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            c.extra.get("https://x.example/s/full"),
            Some(&Value::Bool(true))
        );
        assert!(jwt().check_metascopes(&c).is_ok());
    }

    #[test]
    fn incomplete_or_out_of_range_is_refused_by_name() {
        let now = NumericDate::from_unix(0);
        let cases = [
            (
                ServiceAccountJwt {
                    org_id: " ".into(),
                    ..jwt()
                },
                "org_id",
            ),
            (
                ServiceAccountJwt {
                    technical_account_id: String::new(),
                    ..jwt()
                },
                "technical_account_id",
            ),
            (
                ServiceAccountJwt {
                    client_id: String::new(),
                    ..jwt()
                },
                "client_id",
            ),
            (
                ServiceAccountJwt {
                    ims_host: "https://ims".into(),
                    ..jwt()
                },
                "ims_host",
            ),
            (
                ServiceAccountJwt {
                    metascopes: vec![],
                    ..jwt()
                },
                "metascopes",
            ),
            (jwt().with_lifetime(Duration::ZERO), "lifetime"),
            (
                jwt().with_lifetime(MAX_LIFETIME + Duration::from_secs(1)),
                "lifetime",
            ),
        ];
        for (j, field) in cases {
            match j.claims(now) {
                Err(Error::Build(msg)) => assert!(msg.contains(field), "{msg}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(jwt().with_lifetime(MAX_LIFETIME).claims(now).is_ok());
    }
}
