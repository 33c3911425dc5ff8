//! Where IMS requests go, kept apart from who the identity provider is.
//!
//! The IMS *host* (`ims-na1.adobelogin.com`) is the identity named inside tokens (`aud`,
//! metascope claims). The *base URL* is where requests are sent: `https://{host}` by
//! default, or any URL (an emulator on `http://127.0.0.1:PORT`, a proxy). Plain `http` is
//! accepted only to loopback addresses ([`hsmjwt_oauth::endpoint::check_url`]).

use hsmjwt_core::profile::adobe::{DEFAULT_IMS_HOST, STAGE_IMS_HOST};
use hsmjwt_oauth::endpoint::{join, parse_endpoint_url};
use url::Url;

use crate::error::{Error, Result};

/// Path of the JWT exchange on an IMS base URL.
pub const JWT_EXCHANGE_PATH: &str = "ims/exchange/jwt";

/// Path of the OAuth token endpoint (v3) on an IMS base URL.
pub const TOKEN_V3_PATH: &str = "ims/token/v3";

/// An Adobe IMS instance: the host named in tokens and the base URL requests go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImsEndpoint {
    host: String,
    base_url: Url,
}

impl ImsEndpoint {
    /// Production IMS: `ims-na1.adobelogin.com`.
    pub fn production() -> Self {
        Self::known(DEFAULT_IMS_HOST)
    }

    /// Stage IMS: `ims-na1-stg1.adobelogin.com`.
    pub fn stage() -> Self {
        Self::known(STAGE_IMS_HOST)
    }

    // The two constants are valid hosts (checked by a unit test): not outside data.
    #[allow(clippy::expect_used)]
    fn known(host: &str) -> Self {
        Self::from_host(host).expect("built-in IMS hosts are valid")
    }

    /// An IMS instance named by its bare host; requests go to `https://{host}/`.
    ///
    /// # Errors
    /// [`Error::InvalidHost`] when `host` is empty, has a scheme, a path, a port or
    /// characters a host name cannot have.
    pub fn from_host(host: &str) -> Result<Self> {
        check_host(host)?;
        let base_url = parse_endpoint_url(&format!("https://{host}/"))?;
        Ok(ImsEndpoint {
            host: host.to_ascii_lowercase(),
            base_url,
        })
    }

    /// The same identity, with requests sent to `base_url` instead (for example an
    /// emulator at `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// As [`parse_endpoint_url`].
    pub fn with_base_url(mut self, base_url: &str) -> Result<Self> {
        self.base_url = parse_endpoint_url(base_url)?;
        Ok(self)
    }

    /// The IMS host named in tokens.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Where requests go.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `{base}/ims/exchange/jwt`.
    pub fn jwt_exchange_url(&self) -> Url {
        join(&self.base_url, JWT_EXCHANGE_PATH)
    }

    /// `{base}/ims/token/v3`.
    pub fn token_v3_url(&self) -> Url {
        join(&self.base_url, TOKEN_V3_PATH)
    }
}

impl Default for ImsEndpoint {
    fn default() -> Self {
        Self::production()
    }
}

/// Checks that `host` is a bare host name (what IMS credentials call `imsEndpoint`).
///
/// # Errors
/// [`Error::InvalidHost`] naming the problem.
pub fn check_host(host: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidHost {
            host: host.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if host.is_empty() {
        return bad("it is empty");
    }
    if host.contains("://") {
        return bad("give a bare host name (a full URL goes to the base URL, e.g. --ims-url)");
    }
    if host.contains('/') || host.contains(':') {
        return bad("a bare host name has no path and no port");
    }
    if host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        || host.starts_with('.')
        || host.starts_with('-')
    {
        return bad("not a valid host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_urls() {
        let e = ImsEndpoint::production();
        assert_eq!(e.host(), "ims-na1.adobelogin.com");
        assert_eq!(
            e.jwt_exchange_url().as_str(),
            "https://ims-na1.adobelogin.com/ims/exchange/jwt"
        );
        let e = ImsEndpoint::stage()
            .with_base_url("http://127.0.0.1:9999/prefix/")
            .unwrap();
        assert_eq!(e.host(), "ims-na1-stg1.adobelogin.com");
        assert_eq!(
            e.token_v3_url().as_str(),
            "http://127.0.0.1:9999/prefix/ims/token/v3"
        );
        for bad in ["", "https://x", "x/y", "x:80", "a b"] {
            assert!(ImsEndpoint::from_host(bad).is_err(), "{bad}");
        }
    }
}
