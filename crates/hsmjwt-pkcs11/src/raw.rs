//! The only `unsafe` code of the crate: a single-part `C_Sign` on a session whose
//! operation was already started, for keys with `CKA_ALWAYS_AUTHENTICATE`.
//!
//! Such a key wants `C_SignInit`, then `C_Login(CKU_CONTEXT_SPECIFIC)`, then `C_Sign`.
//! cryptoki 0.12's safe API has `Session::sign_init` and `Session::login`, but its
//! single-part `Session::sign` calls `C_SignInit` itself, and its multi-part
//! `sign_update`/`sign_final` do not work with the raw mechanisms (`CKM_ECDSA`,
//! `CKM_RSA_PKCS`, `CKM_EDDSA`) that modules offer single-part only. So the module's own
//! `C_Sign` is taken from its function table (`C_GetFunctionList`) and called with the
//! session handle cryptoki opened.

use std::path::Path;
use std::ptr;

use cryptoki::context::Function;
use cryptoki::error::{Error as CryptokiError, Rv};
use cryptoki_sys::{
    CK_C_GetFunctionList, CK_C_GetInterface, CK_FUNCTION_LIST, CK_INTERFACE, CK_RV,
    CK_SESSION_HANDLE, CK_SESSION_INFO, CK_ULONG, CKR_OK,
};
use libloading::Library;

use crate::Error;

/// The type of `C_Sign` in the PKCS#11 standard, as cryptoki-sys declares it.
type SignFn =
    unsafe extern "C" fn(CK_SESSION_HANDLE, *mut u8, CK_ULONG, *mut u8, *mut CK_ULONG) -> CK_RV;

/// The type of `C_GetSessionInfo` in the PKCS#11 standard.
type SessionInfoFn = unsafe extern "C" fn(CK_SESSION_HANDLE, *mut CK_SESSION_INFO) -> CK_RV;

/// A module's `C_Sign`, callable on sessions cryptoki opened on that module.
pub(crate) struct RawSign {
    /// Keeps the module loaded while `sign` may be called.
    _library: Library,
    sign: SignFn,
    session_info: SessionInfoFn,
}

impl std::fmt::Debug for RawSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawSign")
    }
}

impl RawSign {
    /// Takes `C_Sign` from the function table of the module at `module`, which this
    /// process has already loaded and initialized through cryptoki (the same file).
    ///
    /// # Errors
    /// [`Error::ModuleLoad`] when the module cannot be loaded or has no `C_Sign`.
    pub(crate) fn load(module: &Path) -> Result<Self, Error> {
        let load_error = |message: String| Error::ModuleLoad {
            path: module.to_owned(),
            source: message.into(),
        };
        // SAFETY: loading a shared library runs its initialization routines. The module is
        // already loaded in this process (cryptoki loaded it from the same canonical path),
        // so `dlopen` only takes another reference to it and runs nothing. The reference is
        // kept in `_library` for as long as the function pointer below may be called.
        let library = unsafe { Library::new(module) }
            .map_err(|e| load_error(format!("cannot load it again for C_Sign: {e}")))?;
        let list = interface_list(&library).or_else(|| function_list(&library));
        let list = list.ok_or_else(|| {
            load_error(
                "neither C_GetInterface nor C_GetFunctionList gives its function table".into(),
            )
        })?;
        // SAFETY: `list` is non-null and points to the module's own function table, which
        // the module keeps while it is loaded (`library` is alive) and never frees; it is only
        // read, and `C_Sign` is a field of the PKCS#11 2.x layout every table (3.x too)
        // starts with.
        let sign = unsafe { (*list).C_Sign }
            .ok_or_else(|| load_error("its function table has no C_Sign".into()))?;
        // SAFETY: as above, for `C_GetSessionInfo`.
        let session_info = unsafe { (*list).C_GetSessionInfo }
            .ok_or_else(|| load_error("its function table has no C_GetSessionInfo".into()))?;
        Ok(Self {
            _library: library,
            sign,
            session_info,
        })
    }

    /// Whether the table reaches the sessions cryptoki opened: `C_GetSessionInfo` on
    /// `session` succeeds. A module that gives each caller a function table of its own
    /// (p11-kit's client module) answers `CKR_CRYPTOKI_NOT_INITIALIZED` here.
    pub(crate) fn reaches(&self, session: CK_SESSION_HANDLE) -> bool {
        let mut info = CK_SESSION_INFO::default();
        // SAFETY: `session` is a handle of this process (cryptoki's `Session::handle`), used
        // by one thread at a time; `info` is a valid, writable `CK_SESSION_INFO`.
        let rv = unsafe { (self.session_info)(session, &mut info) };
        rv == CKR_OK
    }

    /// `C_Sign(session, data)`, single-part, on the operation `C_SignInit` started on
    /// `session`: first asking the signature's length, then signing.
    ///
    /// # Errors
    /// The module's return value as cryptoki's error (for `C_Sign`).
    pub(crate) fn sign(
        &self,
        session: CK_SESSION_HANDLE,
        data: &[u8],
    ) -> Result<Vec<u8>, CryptokiError> {
        let data_len = CK_ULONG::try_from(data.len()).map_err(|_| {
            CryptokiError::Pkcs11(cryptoki::error::RvError::DataLenRange, Function::Sign)
        })?;
        let mut len: CK_ULONG = 0;
        // SAFETY: `session` is a session handle the module gave this process (cryptoki's
        // `Session::handle`), used by one thread at a time (the caller holds its lease).
        // `data` points to `data_len` readable bytes the module only reads (the standard's
        // `CK_BYTE_PTR` is not const); a null signature pointer asks only for the length,
        // which is written to `len`, a valid `CK_ULONG`.
        let rv = unsafe {
            (self.sign)(
                session,
                data.as_ptr().cast_mut(),
                data_len,
                ptr::null_mut(),
                &mut len,
            )
        };
        Rv::from(rv).into_result(Function::Sign)?;
        let capacity = usize::try_from(len).unwrap_or(0).min(MAX_SIGNATURE);
        let mut out = vec![0u8; capacity];
        let mut out_len = CK_ULONG::try_from(capacity).unwrap_or(0);
        // SAFETY: as above; `out` is a writable buffer of `out_len` bytes, and the module
        // writes at most `out_len` bytes there and the signature's length to `out_len`.
        let rv = unsafe {
            (self.sign)(
                session,
                data.as_ptr().cast_mut(),
                data_len,
                out.as_mut_ptr(),
                &mut out_len,
            )
        };
        Rv::from(rv).into_result(Function::Sign)?;
        out.truncate(usize::try_from(out_len).unwrap_or(0));
        Ok(out)
    }
}

/// The function table cryptoki 0.12 uses when the module has `C_GetInterface` (PKCS#11
/// 3.x): the default interface, when its version is 3 or more. A module may keep separate
/// state per table (p11-kit's client does), so `C_Sign` must come from the same one.
fn interface_list(library: &Library) -> Option<*mut CK_FUNCTION_LIST> {
    // SAFETY: `CK_C_GetInterface` is cryptoki-sys's declaration of the symbol's type in the
    // PKCS#11 3.0 standard (an optional C function pointer); its value is copied out of the
    // `Symbol` and used while `library` is alive.
    let get_interface: CK_C_GetInterface =
        *unsafe { library.get::<CK_C_GetInterface>(b"C_GetInterface\0") }.ok()?;
    let get_interface = get_interface?;
    let mut interface: *mut CK_INTERFACE = ptr::null_mut();
    // SAFETY: as cryptoki calls it: no name, no version (the default interface), no flags,
    // and a valid, writable pointer to a `CK_INTERFACE` pointer.
    let rv = unsafe { get_interface(ptr::null_mut(), ptr::null_mut(), &mut interface, 0) };
    if rv != CKR_OK || interface.is_null() {
        return None;
    }
    // SAFETY: `interface` is non-null and points to the module's interface structure, kept
    // while the module is loaded; it is only read.
    let table = unsafe { (*interface).pFunctionList }.cast::<CK_FUNCTION_LIST>();
    if table.is_null() {
        return None;
    }
    // SAFETY: `table` is non-null and points to a function table, which starts with its
    // `CK_VERSION` in every version of the standard; it is only read.
    let major = unsafe { (*table).version.major };
    (major >= 3).then_some(table)
}

/// The module's PKCS#11 2.x function table (`C_GetFunctionList`), as cryptoki 0.12 uses it
/// when there is no 3.x interface.
fn function_list(library: &Library) -> Option<*mut CK_FUNCTION_LIST> {
    // SAFETY: `CK_C_GetFunctionList` is cryptoki-sys's declaration of the symbol's type in
    // the PKCS#11 standard (an optional C function pointer); its value is copied out of the
    // `Symbol` and used while `library` is alive.
    let get_function_list: CK_C_GetFunctionList =
        *unsafe { library.get::<CK_C_GetFunctionList>(b"C_GetFunctionList\0") }.ok()?;
    let get_function_list = get_function_list?;
    let mut list: *mut CK_FUNCTION_LIST = ptr::null_mut();
    // SAFETY: `C_GetFunctionList` may be called at any time; its one argument is a valid,
    // writable pointer to a `CK_FUNCTION_LIST` pointer.
    let rv = unsafe { get_function_list(&mut list) };
    (rv == CKR_OK && !list.is_null()).then_some(list)
}

/// The longest signature asked for (RSA 16384 bits is 2048 bytes): a module that claims
/// more gets a buffer of this size, and `CKR_BUFFER_TOO_SMALL` if it really needs it.
const MAX_SIGNATURE: usize = 4096;
