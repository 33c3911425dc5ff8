//! The only `unsafe` code of the crate: loading a PKCS#11 module and calling two of its
//! functions through the C function table; the controls of the fault-injecting module.

use std::ffi::{CString, c_char};
use std::path::Path;
use std::ptr;

use cryptoki_sys::{CK_C_GetFunctionList, CK_FUNCTION_LIST, CK_SLOT_ID, CKR_OK};
use libloading::Library;

use crate::{Error, rv_name};

/// An [`Error::Pkcs11`] without a source.
fn failed(message: String) -> Error {
    Error::Pkcs11 {
        message,
        source: None,
    }
}

/// See [`crate::close_all_sessions`]; `slot` is already a `CK_SLOT_ID`.
pub(crate) fn close_all_sessions(module: &Path, slot: CK_SLOT_ID) -> Result<(), Error> {
    let shown = module.display();
    // SAFETY: loading a shared library runs its initialization routines. A PKCS#11 module
    // has no requirements on being loaded, and under the documented precondition it is
    // already loaded in this process, so `dlopen` only takes another reference to it and
    // runs nothing. The reference is dropped at the end of this function, after the last
    // call through pointers obtained from it.
    let library = unsafe { Library::new(module) }.map_err(|e| Error::Pkcs11 {
        message: format!("cannot load PKCS#11 module `{shown}`"),
        source: Some(e.into()),
    })?;

    // SAFETY: `CK_C_GetFunctionList` is cryptoki-sys's declaration of the symbol's type in
    // the PKCS#11 standard (an optional C function pointer). Its value is copied out of the
    // `Symbol`; it stays valid while `library` is alive, which outlives every use below.
    let get_function_list: CK_C_GetFunctionList = *unsafe {
        library.get::<CK_C_GetFunctionList>(b"C_GetFunctionList\0")
    }
    .map_err(|e| Error::Pkcs11 {
        message: format!("`{shown}` has no C_GetFunctionList"),
        source: Some(e.into()),
    })?;
    let get_function_list = get_function_list
        .ok_or_else(|| failed(format!("`{shown}` has a null C_GetFunctionList")))?;

    let mut list: *mut CK_FUNCTION_LIST = ptr::null_mut();
    // SAFETY: `C_GetFunctionList` may be called at any time, even before `C_Initialize`;
    // its one argument is a valid, writable pointer to a `CK_FUNCTION_LIST` pointer.
    let rv = unsafe { get_function_list(&mut list) };
    if rv != CKR_OK {
        return Err(failed(format!(
            "C_GetFunctionList of `{shown}` returned {}",
            rv_name(rv)
        )));
    }
    if list.is_null() {
        return Err(failed(format!(
            "C_GetFunctionList of `{shown}` returned no list"
        )));
    }
    // SAFETY: `list` is non-null and points to the module's own function table, which the
    // module keeps for as long as it is loaded (`library` is alive) and never frees; it is
    // only read, and `C_CloseAllSessions` is one field of the PKCS#11 2.x layout that every
    // version of the table starts with.
    let close_all = unsafe { (*list).C_CloseAllSessions }
        .ok_or_else(|| failed(format!("`{shown}` has no C_CloseAllSessions")))?;

    // SAFETY: `C_CloseAllSessions` takes the slot id by value and no pointers. Under the
    // documented precondition the module was initialized by this process's shared context,
    // with `CKF_OS_LOCKING_OK`, so it may be called from any thread while other threads use
    // the module; otherwise it returns `CKR_CRYPTOKI_NOT_INITIALIZED` and does nothing.
    let rv = unsafe { close_all(slot) };
    drop(library);
    if rv == CKR_OK {
        Ok(())
    } else {
        Err(failed(format!(
            "C_CloseAllSessions(slot {slot}) of `{shown}` returned {}",
            rv_name(rv)
        )))
    }
}

/// The control functions of the fault-injecting module (`hsmjwt-testkit-faults`), looked
/// up in the copy of it this process loaded (see [`crate::faults`]).
pub(crate) struct FaultControl {
    /// Keeps the module loaded while the function pointers may be called.
    _library: Library,
    configure: extern "C" fn(u32, u32, u32, u64),
    configure_spec: unsafe extern "C" fn(*const c_char, *mut c_char, usize) -> i32,
    set_rate: extern "C" fn(u32, u32) -> i32,
    calls: extern "C" fn(u32) -> u64,
    block_sign: extern "C" fn(u32),
    open_sessions: extern "C" fn() -> i64,
    injected: extern "C" fn() -> u64,
    logins: extern "C" fn() -> u64,
    signs_blocked: extern "C" fn() -> u64,
}

impl FaultControl {
    /// Loads the module at `path` (another reference when the process loaded it already)
    /// and looks up its control functions.
    pub(crate) fn load(path: &Path) -> Result<Self, Error> {
        let shown = path.display();
        // SAFETY: the fault module's initialization routines have no requirements (it
        // loads its target module lazily, on the first PKCS#11 call); the library is kept
        // in `_library` while the pointers below may be called.
        let library = unsafe { Library::new(path) }.map_err(|e| Error::Pkcs11 {
            message: format!("cannot load the fault module `{shown}`"),
            source: Some(e.into()),
        })?;
        macro_rules! symbol {
            ($name:literal, $ty:ty) => {{
                // SAFETY: the fault module exports this symbol with exactly this
                // signature (`hsmjwt-testkit-faults`, same workspace); the pointer is
                // copied out and used only while `library` is alive.
                let f: $ty = *unsafe { library.get::<$ty>($name) }.map_err(|e| Error::Pkcs11 {
                    message: format!("`{shown}` is not the fault module"),
                    source: Some(e.into()),
                })?;
                f
            }};
        }
        let configure = symbol!(
            b"hsmjwt_faults_configure\0",
            extern "C" fn(u32, u32, u32, u64)
        );
        let configure_spec = symbol!(
            b"hsmjwt_faults_configure_spec\0",
            unsafe extern "C" fn(*const c_char, *mut c_char, usize) -> i32
        );
        let set_rate = symbol!(b"hsmjwt_faults_set_rate\0", extern "C" fn(u32, u32) -> i32);
        let calls = symbol!(b"hsmjwt_faults_calls\0", extern "C" fn(u32) -> u64);
        let block_sign = symbol!(b"hsmjwt_faults_block_sign\0", extern "C" fn(u32));
        let open_sessions = symbol!(b"hsmjwt_faults_open_sessions\0", extern "C" fn() -> i64);
        let injected = symbol!(b"hsmjwt_faults_injected\0", extern "C" fn() -> u64);
        let logins = symbol!(b"hsmjwt_faults_logins\0", extern "C" fn() -> u64);
        let signs_blocked = symbol!(b"hsmjwt_faults_signs_blocked\0", extern "C" fn() -> u64);
        Ok(Self {
            _library: library,
            configure,
            configure_spec,
            set_rate,
            calls,
            block_sign,
            open_sessions,
            injected,
            logins,
            signs_blocked,
        })
    }

    pub(crate) fn configure(&self, rate_ppm: u32, rv_mask: u32, latency_us: u32, seed: u64) {
        (self.configure)(rate_ppm, rv_mask, latency_us, seed);
    }

    /// The configuration in text form; the module's reason when it refuses it.
    pub(crate) fn configure_spec(&self, spec: &str) -> Result<(), String> {
        let spec = CString::new(spec).map_err(|_| "the configuration holds a NUL".to_owned())?;
        let mut reason = vec![0u8; 512];
        // SAFETY: `spec` is a NUL-terminated string that lives across the call; `reason` is
        // a live buffer of `reason.len()` writable bytes, which the module writes at most
        // (a NUL-terminated string); the function has this signature in the fault module.
        let rv = unsafe {
            (self.configure_spec)(spec.as_ptr(), reason.as_mut_ptr().cast(), reason.len())
        };
        if rv == 0 {
            return Ok(());
        }
        let end = reason.iter().position(|b| *b == 0).unwrap_or(reason.len());
        reason.truncate(end);
        Err(String::from_utf8_lossy(&reason).into_owned())
    }

    /// `false` when the module cannot fail `function`.
    pub(crate) fn set_rate(&self, function: u32, rate_ppm: u32) -> bool {
        (self.set_rate)(function, rate_ppm) == 0
    }

    pub(crate) fn calls(&self, function: u32) -> u64 {
        (self.calls)(function)
    }

    pub(crate) fn block_sign(&self, count: u32) {
        (self.block_sign)(count);
    }

    pub(crate) fn open_sessions(&self) -> i64 {
        (self.open_sessions)()
    }

    pub(crate) fn injected(&self) -> u64 {
        (self.injected)()
    }

    pub(crate) fn logins(&self) -> u64 {
        (self.logins)()
    }

    pub(crate) fn signs_blocked(&self) -> u64 {
        (self.signs_blocked)()
    }
}
