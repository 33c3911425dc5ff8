//! The fault-injecting PKCS#11 module (`hsmjwt-testkit-faults`, a cdylib of this
//! workspace) and its control from a test in the same process.
//!
//! The module forwards every call to SoftHSM2 (or the module `HSMJWT_FAULTS_TARGET` names)
//! and, as configured here, fails a share of the calls (of every function it wraps, or of
//! chosen ones) with chosen return values, adds latency to `C_Sign`, or holds the next
//! `C_Sign` calls until released; it counts open sessions, calls per function, logins and
//! the faults it injected. A crate whose tests use it lists `hsmjwt-testkit-faults` as a
//! dev-dependency, which makes cargo build the library next to the test executables, where
//! [`Faults::find`] looks.
//!
//! A child process (a CLI under test, say) is configured by the environment instead:
//! `HSMJWT_FAULTS`, read when the module is loaded, in the text form of
//! [`Faults::configure`] (`rate=0.01;rv=DEVICE_ERROR,GENERAL_ERROR;latency_ms=1`); the module
//! refuses to load with a value it cannot read.

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

/// A function the module wraps, for [`Faults::calls`] and [`Faults::set_rate`]. The first
/// six can be made to fail; the others are only counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Function {
    /// `C_OpenSession`.
    OpenSession,
    /// `C_Login`.
    Login,
    /// `C_SignInit`.
    SignInit,
    /// `C_Sign` (length queries included).
    Sign,
    /// `C_FindObjectsInit`.
    FindObjectsInit,
    /// `C_GetAttributeValue`.
    GetAttributeValue,
    /// `C_CloseSession` (never failed).
    CloseSession,
    /// `C_CloseAllSessions` (never failed).
    CloseAllSessions,
    /// `C_Initialize` (never failed).
    Initialize,
    /// `C_Finalize` (never failed).
    Finalize,
}

impl Function {
    /// Every function the module wraps.
    pub const ALL: [Function; 10] = [
        Function::OpenSession,
        Function::Login,
        Function::SignInit,
        Function::Sign,
        Function::FindObjectsInit,
        Function::GetAttributeValue,
        Function::CloseSession,
        Function::CloseAllSessions,
        Function::Initialize,
        Function::Finalize,
    ];

    /// The module's index of the function.
    fn index(self) -> u32 {
        match self {
            Function::OpenSession => 0,
            Function::Login => 1,
            Function::SignInit => 2,
            Function::Sign => 3,
            Function::FindObjectsInit => 4,
            Function::GetAttributeValue => 5,
            Function::CloseSession => 6,
            Function::CloseAllSessions => 7,
            Function::Initialize => 8,
            Function::Finalize => 9,
        }
    }

    /// The PKCS#11 name (`C_Sign`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Function::OpenSession => "C_OpenSession",
            Function::Login => "C_Login",
            Function::SignInit => "C_SignInit",
            Function::Sign => "C_Sign",
            Function::FindObjectsInit => "C_FindObjectsInit",
            Function::GetAttributeValue => "C_GetAttributeValue",
            Function::CloseSession => "C_CloseSession",
            Function::CloseAllSessions => "C_CloseAllSessions",
            Function::Initialize => "C_Initialize",
            Function::Finalize => "C_Finalize",
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

    /// From now on, `per_million` calls in a million (of every function that can fail) fail
    /// with one of `faults`, chosen at random (from `seed`, when non-zero); `latency` is
    /// added to every `C_Sign`.
    pub fn set(&self, per_million: u32, faults: &[Fault], latency: Duration, seed: u64) {
        let mask = faults.iter().fold(0, |m, f| m | f.bit());
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.control.configure(per_million, mask, micros, seed);
    }

    /// Replaces the configuration with one in text form, as `HSMJWT_FAULTS` gives it to a
    /// child process: parts `key=value` separated by `;` (or by `,` when there is no `;`):
    /// `rate=F` (a fraction) or `rate_ppm=N` for every function that can fail,
    /// `rate:C_Sign=F` or `rate_ppm:C_Sign=N` for one (`C_OpenSession`, `C_Login`,
    /// `C_SignInit`, `C_Sign`, `C_FindObjectsInit`, `C_GetAttributeValue`), `rv=A|B` the
    /// return values (`DEVICE_ERROR`, `SESSION_HANDLE_INVALID`, `OBJECT_HANDLE_INVALID`,
    /// `USER_NOT_LOGGED_IN`, `GENERAL_ERROR`, `PIN_INCORRECT`), `latency_ms=N` or
    /// `latency_us=N` added to every `C_Sign`, `seed=N`. What it does not name is off.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] with the module's reason when it cannot read `spec` (the
    /// configuration is then unchanged).
    pub fn configure(&self, spec: &str) -> Result<(), Error> {
        self.control.configure_spec(spec).map_err(|reason| {
            Error::InvalidOption(format!("fault configuration `{spec}`: {reason}"))
        })
    }

    /// From now on, `per_million` calls of `function` in a million fail (with the return
    /// values and latency set before).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the module never fails `function` (`C_CloseSession`,
    /// `C_CloseAllSessions`, `C_Initialize`, `C_Finalize`).
    pub fn set_rate(&self, function: Function, per_million: u32) -> Result<(), Error> {
        if self.control.set_rate(function.index(), per_million) {
            Ok(())
        } else {
            Err(Error::InvalidOption(format!(
                "the fault module never fails {}",
                function.name()
            )))
        }
    }

    /// Calls of `function` so far.
    #[must_use]
    pub fn calls(&self, function: Function) -> u64 {
        self.control.calls(function.index())
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
