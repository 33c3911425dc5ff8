//! Token profiles: the token shapes real integrations need, built and checked in one place.
//!
//! Each profile has a builder that refuses an incomplete or out-of-range token with an
//! [`Error::Build`] naming the field, a `sign` method taking any [`Signer`], and a
//! validator for the receiving side.
//!
//! - [`adobe`]: the Adobe service-account JWT exchanged at IMS (`/ims/exchange/jwt`).
//! - [`client_assertion`]: `private_key_jwt` client authentication and the RFC 7523
//!   JWT-bearer grant.
//! - [`service_token`]: the Adobe Pass `AD-Service-Token`.
//! - [`jar`]: JWT-secured authorization requests (RFC 9101) and PKCE (RFC 7636).
//!
//! Random values (`jti`, `state`, `nonce`, PKCE verifiers) come from the operating
//! system's random number generator; this and the clock are core's only contact with the
//! outside world.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::claims::REGISTERED_CLAIM_NAMES;
use crate::error::Error;
use crate::sign::Signer;

pub mod adobe;
pub mod client_assertion;
pub mod jar;
pub mod service_token;

/// `n` random bytes from the operating system.
///
/// # Errors
/// [`Error::Build`] when the operating system has no randomness to give (never seen on
/// Linux after boot).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| Error::Build(format!("no random numbers: {e}")))?;
    Ok(buf)
}

/// A random UUID v4, the usual `jti`.
///
/// # Errors
/// As [`random_bytes`].
pub fn new_jti() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Build(format!("no random numbers: {e}")))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// A random URL-safe value of `bytes` random bytes (for `state`, `nonce`).
///
/// # Errors
/// As [`random_bytes`].
pub fn random_token(bytes: usize) -> Result<String, Error> {
    Ok(crate::b64::encode(&random_bytes(bytes)?))
}

/// Fails with [`Error::Build`] naming `field` when `value` is empty or only whitespace.
pub(crate) fn require(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::Build(format!("`{field}` is missing")));
    }
    Ok(())
}

/// Fails with [`Error::Build`] when `lifetime` is zero or longer than `max`.
pub(crate) fn check_lifetime(what: &str, lifetime: Duration, max: Duration) -> Result<(), Error> {
    if lifetime.is_zero() {
        return Err(Error::Build(format!(
            "{what} lifetime must be more than zero"
        )));
    }
    if lifetime > max {
        return Err(Error::Build(format!(
            "{what} lifetime of {} s exceeds the maximum of {} s",
            lifetime.as_secs(),
            max.as_secs()
        )));
    }
    Ok(())
}

/// Fails with [`Error::Build`] unless `signer` signs with `alg`; `rule` says who asks for
/// it ("Adobe IMS requires RS256").
pub(crate) fn require_algorithm(
    signer: &dyn Signer,
    alg: Algorithm,
    rule: &str,
) -> Result<(), Error> {
    if signer.algorithm() != alg {
        return Err(Error::Build(format!(
            "{rule}, but the signer is {}",
            signer.algorithm()
        )));
    }
    Ok(())
}

/// Adds the claim `name` to `extra`, refusing a registered claim or one of `own` (names
/// the builder sets itself), which `by` sets ("the profile").
pub(crate) fn add_claim(
    extra: &mut Map<String, Value>,
    own: &[&str],
    by: &str,
    name: &str,
    value: Value,
) -> Result<(), Error> {
    if own.contains(&name) || REGISTERED_CLAIM_NAMES.contains(&name) {
        return Err(Error::Build(format!(
            "`{name}` is set by {by}; use its own option"
        )));
    }
    extra.insert(name.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jti_is_a_v4_uuid_and_fresh() {
        let a = new_jti().unwrap();
        let b = new_jti().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, b);
    }

    /// The builders refuse the claims they set themselves, naming who sets them.
    #[test]
    fn own_claims_are_refused_by_name() {
        let err = service_token::ServiceToken::new("i", "u")
            .with_claim("exp", 1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot build token: `exp` is set by the profile; use its own option"
        );
        let request = || jar::RequestObject::new("c", "https://as.example", "https://a/cb");
        for name in ["state", "aud"] {
            let err = request().with_param(name, "x").unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "cannot build token: `{name}` is set by the request object builder; \
                     use its own option"
                )
            );
        }
        let r = request().with_param("prompt", "login").unwrap();
        let claims = r.claims(crate::NumericDate::from_unix(0)).unwrap();
        assert_eq!(claims.extra.get("prompt"), Some(&Value::from("login")));
    }

    /// A profile that needs RS256 says so, naming the signer's algorithm.
    #[test]
    fn the_signer_algorithm_is_checked() {
        struct Es256(crate::Jwk);
        impl Signer for Es256 {
            fn algorithm(&self) -> Algorithm {
                Algorithm::ES256
            }
            fn key_id(&self) -> Option<&str> {
                None
            }
            fn public_key(&self) -> &crate::Jwk {
                &self.0
            }
            fn sign(&self, _: &[u8]) -> Result<Vec<u8>, Error> {
                panic!("must not be asked to sign")
            }
        }
        let jwk = crate::Jwk::from_json(
            br#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRnmJeA5JXJqfR75yt_8KWYp8VYGLC9C5W1ZQdU"}"#,
        )
        .unwrap();
        let signer = Es256(jwk);
        let now = crate::NumericDate::from_unix(0);
        let err = service_token::ServiceToken::new("i", "u")
            .with_kid("k")
            .sign(&signer, now)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot build token: AD-Service-Token is signed RS256, but the signer is ES256"
        );
        assert_eq!(
            require_algorithm(&signer, Algorithm::RS256, "Adobe IMS requires RS256")
                .unwrap_err()
                .to_string(),
            "cannot build token: Adobe IMS requires RS256, but the signer is ES256"
        );
    }
}
