//! SoftHSM2 tokens for tests, demos and CI: a temporary token folder, tokens found by
//! label, keys made by `pkcs11-tool` or by your own code, clean-up on drop.
//!
//! # The shape of a SoftHSM test
//! SoftHSM reads its configuration file from `SOFTHSM2_CONF`, and only from the
//! environment, once, when a process calls `C_Initialize`. A process cannot safely set an
//! environment variable for itself once it has threads (it is `unsafe` since Rust 2024), so
//! a test that loads the module itself runs in two processes:
//!
//! - the **parent** makes the fixture ([`Builder::build`]: folder, `softhsm2.conf`, tokens,
//!   `pkcs11-tool` keys, all through programs run with the variable set), then runs this
//!   same executable again ([`SoftHsm::rerun`], [`SoftHsm::rerun_and_exit`]) with
//!   [`SoftHsm::env`] set, stdin closed and a marker;
//! - the **child** finds the fixture again ([`Builder::attach`]) and goes on: it loads the
//!   module, makes keys with the library under test ([`SoftHsm::generate_key`]) and runs the
//!   tests. When it ends, the parent removes the folder.
//!
//! [`Builder::build_in_child`] is both halves in one call. Code that only runs other
//! programs (a CLI under test, `pkcs11-tool`) needs no child: it passes [`SoftHsm::env`] to
//! them.
//!
//! ```no_run
//! use hsmjwt_testkit::softhsm::{self, Builder, Rerun};
//!
//! #[test]
//! fn signs_with_a_key_in_softhsm() {
//!     let Some(installation) = softhsm::installed_or_skip() else { return };
//!     let spec = Builder::new(installation)
//!         .token("test")
//!         .key("test", "tool-p256", "01", "EC:prime256v1");
//!     let Some(hsm) = spec.attach().unwrap() else {
//!         // Parent: make the token, run this one test again in a child, clean up.
//!         let hsm = spec.build().unwrap();
//!         let status = hsm.rerun(&Rerun::one_test("signs_with_a_key_in_softhsm")).unwrap();
//!         assert!(status.success(), "the SoftHSM child failed: {status}");
//!         return;
//!     };
//!     // Child: `SOFTHSM2_CONF` is set; load `hsm.module()` and sign with `tool-p256`.
//!     # let _ = hsm;
//! }
//! # fn main() {}
//! ```
//!
//! # Skipping
//! [`installed_or_skip`] is the one policy for tests: without SoftHSM2 and OpenSC a test
//! prints a `SKIPPED:` line and passes, unless `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set:
//! then it fails.

mod fixture;
mod rerun;

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use fixture::{Builder, KeyRequest, Login, SoftHsm};
pub use rerun::Rerun;

use crate::Error;

/// Where Debian and Ubuntu install the SoftHSM2 PKCS#11 module.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The environment variable that names another SoftHSM2 module (a SoftHSM2 built
/// elsewhere, another distribution's path); [`DEFAULT_MODULE`] when unset or empty.
pub const MODULE_ENV: &str = "HSMJWT_SOFTHSM_MODULE";

/// With this environment variable set to `1` (or `CI` set to anything), tests fail instead
/// of skipping when SoftHSM2 is missing.
pub const REQUIRE_ENV: &str = "HSMJWT_REQUIRE_SOFTHSM";

/// The user PIN of the fixture's tokens unless [`Builder::pin`] says otherwise.
pub const PIN: &str = "1234";

/// The security officer PIN of the fixture's tokens unless [`Builder::so_pin`] says
/// otherwise.
pub const SO_PIN: &str = "12345678";

/// SoftHSM2's tool: initializes tokens, lists slots.
const SOFTHSM2_UTIL: &str = "softhsm2-util";

/// OpenSC's tool: makes keys, lists objects.
const PKCS11_TOOL: &str = "pkcs11-tool";

/// Where SoftHSM2 and OpenSC are, and what of them is missing.
#[derive(Clone, Debug)]
pub struct Installation {
    module: PathBuf,
}

impl Installation {
    /// The SoftHSM2 module named by `$HSMJWT_SOFTHSM_MODULE` ([`MODULE_ENV`]), else
    /// [`DEFAULT_MODULE`]; the tools are looked for on `$PATH`.
    #[must_use]
    pub fn detect() -> Self {
        let module = std::env::var_os(MODULE_ENV)
            .filter(|m| !m.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_MODULE), PathBuf::from);
        Self { module }
    }

    /// The SoftHSM2 module at `module`.
    #[must_use]
    pub fn with_module(module: impl Into<PathBuf>) -> Self {
        Self {
            module: module.into(),
        }
    }

    /// The path of the SoftHSM2 PKCS#11 module.
    #[must_use]
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// What is missing: the module's path when it is not a file, `softhsm2-util` and
    /// `pkcs11-tool` when they are not on `$PATH`. Empty when all is there.
    #[must_use]
    pub fn missing(&self) -> Vec<String> {
        let mut missing = self.softhsm_missing();
        if !on_path(PKCS11_TOOL) {
            missing.push(PKCS11_TOOL.to_owned());
        }
        missing
    }

    /// Whether SoftHSM2 itself (the module and `softhsm2-util`) is there: enough for tokens
    /// and keys made by your own code, not for keys made by `pkcs11-tool`.
    #[must_use]
    pub fn has_softhsm(&self) -> bool {
        self.softhsm_missing().is_empty()
    }

    /// The module and `softhsm2-util`, when missing.
    fn softhsm_missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if !self.module.is_file() {
            missing.push(self.module.display().to_string());
        }
        if !on_path(SOFTHSM2_UTIL) {
            missing.push(SOFTHSM2_UTIL.to_owned());
        }
        missing
    }

    /// Fails when anything is [missing](Self::missing).
    ///
    /// # Errors
    /// [`Error::NotInstalled`], naming what is missing.
    pub fn check(&self) -> Result<(), Error> {
        let missing = self.missing();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::NotInstalled { missing })
        }
    }

    /// The tests' policy: `Some(self)` when all is installed; otherwise a `SKIPPED:` line on
    /// stderr and `None`, or a panic when [`required`].
    ///
    /// # Panics
    /// When something is missing and `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set.
    #[must_use]
    pub fn or_skip(self) -> Option<Self> {
        let Err(e) = self.check() else {
            return Some(self);
        };
        assert!(
            !required(),
            "{e} (required because CI or {REQUIRE_ENV}=1 is set)"
        );
        // Straight to stderr: the test harness captures `eprintln!`.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {e}");
        None
    }

    /// A [`Builder`] for a fixture on this installation.
    pub fn builder(self) -> Builder {
        Builder::new(self)
    }
}

/// Whether SoftHSM2 tests must run: `CI` is set (not empty) or `HSMJWT_REQUIRE_SOFTHSM=1`.
#[must_use]
pub fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1")
}

/// [`Installation::detect`], then [`Installation::or_skip`]: the installation, or `None`
/// after a `SKIPPED:` line.
///
/// # Panics
/// When something is missing and `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set.
#[must_use]
pub fn installed_or_skip() -> Option<Installation> {
    Installation::detect().or_skip()
}

/// Whether `name` is a file in a folder of `$PATH`.
pub(crate) fn on_path(name: impl AsRef<OsStr>) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(name.as_ref()).is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_module_is_named_and_fails_the_check() {
        let none = Installation::with_module("/nonexistent/libsofthsm2.so");
        assert!(!none.has_softhsm());
        assert!(
            none.missing()
                .contains(&"/nonexistent/libsofthsm2.so".to_owned())
        );
        let e = none.check().unwrap_err().to_string();
        assert!(
            e.starts_with("SoftHSM2 is not installed (missing: /nonexistent/libsofthsm2.so"),
            "{e}"
        );
    }

    #[test]
    fn tools_are_looked_for_on_the_path() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-tool-hsmjwt"));
    }
}
