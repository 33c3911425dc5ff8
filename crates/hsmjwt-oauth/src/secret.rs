//! Client secrets from where an application keeps them.
//!
//! The library never reads the environment on its own: these helpers read the variable the
//! caller names.

use secrecy::SecretString;

use crate::error::{Error, Result};

/// Reads a secret from the environment variable `var`, which the caller names.
///
/// # Errors
/// [`Error::SecretEnv`] when it is unset, empty or not Unicode (the value is never shown).
pub fn from_env(var: &str) -> Result<SecretString> {
    let fail = |reason| Error::SecretEnv {
        var: var.to_owned(),
        reason,
    };
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
        Ok(_) => Err(fail("it is empty")),
        Err(std::env::VarError::NotPresent) => Err(fail("it is not set")),
        Err(std::env::VarError::NotUnicode(_)) => Err(fail("it is not valid Unicode")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_from_the_environment() {
        let e = from_env("HSMJWT_OAUTH_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read the secret from $HSMJWT_OAUTH_TEST_SURELY_UNSET: it is not set"
        );
        // PATH is set in any test environment; its value is not shown in Debug.
        let s = from_env("PATH").unwrap();
        assert!(!format!("{s:?}").contains('/'));
    }
}
