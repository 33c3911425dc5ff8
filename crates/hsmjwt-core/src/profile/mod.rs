//! Token profiles: the token shapes real integrations need, built and checked in one place.
//!
//! Each profile has a builder that refuses an incomplete or out-of-range token with an
//! [`Error::Build`] naming the field, a `sign` method taking any [`Signer`](crate::Signer), and a
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

use crate::error::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jti_is_a_v4_uuid_and_fresh() {
        let a = new_jti().unwrap_or_default();
        let b = new_jti().unwrap_or_default();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, b);
    }
}
