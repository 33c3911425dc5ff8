//! The fault-injecting PKCS#11 module (`hsmjwt-testkit-faults`, a cdylib of this
//! workspace) and its control from a test in the same process.
//!
//! The module forwards every call to SoftHSM2 (or the module `HSMJWT_FAULTS_TARGET` names)
//! and, as configured here, fails a share of the calls with chosen return values, adds
//! latency to `C_Sign`, or holds the next `C_Sign` calls until released; it counts open sessions, logins
//! and the faults it injected. A crate whose tests use it lists `hsmjwt-testkit-faults` as a
//! dev-dependency, which makes cargo build the library next to the test executables, where
//! [`Faults::find`] looks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::ffi::FaultControl;

/// The module's file name.
pub const FILE: &str = "libhsmjwt_testkit_faults.so";

/// A return value the module can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// `CKR_DEVICE_ERROR`: the device went away (the caller should finalize the module).
    DeviceError,
    /// `CKR_SESSION_HANDLE_INVALID`: the session is closed for real, then this is returned.
    SessionHandleInvalid,
    /// `CKR_OBJECT_HANDLE_INVALID`.
    ObjectHandleInvalid,
    /// `CKR_USER_NOT_LOGGED_IN`.
    UserNotLoggedIn,
    /// `CKR_GENERAL_ERROR`.
    GeneralError,
    /// `CKR_PIN_INCORRECT` (from `C_Login` only).
    PinIncorrect,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 6] = [
        Fault::DeviceError,
        Fault::SessionHandleInvalid,
        Fault::ObjectHandleInvalid,
        Fault::UserNotLoggedIn,
        Fault::GeneralError,
        Fault::PinIncorrect,
    ];

    fn bit(self) -> u32 {
        match self {
            Fault::DeviceError => 1,
            Fault::SessionHandleInvalid => 2,
            Fault::ObjectHandleInvalid => 4,
            Fault::UserNotLoggedIn => 8,
            Fault::GeneralError => 16,
            Fault::PinIncorrect => 32,
        }
    }
}

/// The fault module as loaded in this process, and its controls.
pub struct Faults {
    path: PathBuf,
    control: FaultControl,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Faults {
    /// The module built next to the running test executable (`target/PROFILE/deps/`, or
    /// `target/PROFILE/`).
    ///
    /// # Errors
    /// [`Error::Pkcs11`] naming where it was looked for, with the way to build it.
    pub fn find() -> Result<PathBuf, Error> {
        let exe = std::env::current_exe().map_err(|e| Error::Pkcs11 {
            message: "cannot tell where the test executable is".to_owned(),
            source: Some(e.into()),
        })?;
        let dirs: Vec<&Path> = exe.ancestors().skip(1).take(2).collect();
        dirs.iter()
            .map(|d| d.join(FILE))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Pkcs11 {
                message: format!(
                    "the fault module {FILE} is not in {}: add `hsmjwt-testkit-faults` to the \
                     crate's dev-dependencies, or build it with `cargo build -p \
                     hsmjwt-testkit-faults`",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
                source: None,
            })
    }

    /// Loads the module at `path` (the same file the code under test loads, so both see one
    /// copy) with no fault configured.
    ///
    /// # Errors
    /// [`Error::Pkcs11`] when it cannot be loaded or is not the fault module.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let control = FaultControl::load(path)?;
        Ok(Self {
            path: path.to_owned(),
            control,
        })
    }

    /// The module's path, to give to the code under test as its PKCS#11 module.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// From now on, `per_million` calls in a million fail with one of `faults`, chosen at
    /// random (from `seed`, when non-zero); `latency` is added to every `C_Sign`.
    pub fn set(&self, per_million: u32, faults: &[Fault], latency: Duration, seed: u64) {
        let mask = faults.iter().fold(0, |m, f| m | f.bit());
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.control.configure(per_million, mask, micros, seed);
    }

    /// No faults and no latency from now on.
    pub fn clear(&self) {
        self.control.configure(0, 0, 0, 0);
    }

    /// Holds the next `count` signing `C_Sign` calls (length queries aside) until
    /// [`release_signs`](Self::release_signs).
    pub fn hold_signs(&self, count: u32) {
        self.control.block_sign(count.max(1));
    }

    /// Lets every held `C_Sign` go on, and holds no more.
    pub fn release_signs(&self) {
        self.control.block_sign(0);
    }

    /// Sessions open in the module now.
    #[must_use]
    pub fn open_sessions(&self) -> i64 {
        self.control.open_sessions()
    }

    /// Faults injected so far.
    #[must_use]
    pub fn injected(&self) -> u64 {
        self.control.injected()
    }

    /// `C_Login` calls so far.
    #[must_use]
    pub fn logins(&self) -> u64 {
        self.control.logins()
    }

    /// `C_Sign` calls held by [`hold_signs`](Self::hold_signs) so far.
    #[must_use]
    pub fn signs_blocked(&self) -> u64 {
        self.control.signs_blocked()
    }
}
