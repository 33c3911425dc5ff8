//! The only `unsafe` code of the crate: loading a PKCS#11 module and calling two of its
//! functions through the C function table.

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
