//! A fault-injecting PKCS#11 module for tests: it forwards every call to a real module
//! (SoftHSM2 unless `HSMJWT_FAULTS_TARGET` names another) and, as the test configures it,
//! fails some calls on purpose, adds latency to `C_Sign`, or holds the next `C_Sign` calls
//! until released.
//!
//! Its `C_GetFunctionList` hands out the real module's function table with a few entries
//! replaced: `C_Initialize`, `C_Finalize`, `C_OpenSession`, `C_CloseSession`,
//! `C_CloseAllSessions`, `C_Login`, `C_SignInit`, `C_Sign`, `C_FindObjectsInit` and
//! `C_GetAttributeValue`. All others go to the real module untouched.
//!
//! Faults: with probability `rate` (parts per million, for all the functions that can fail
//! or per function), a wrapped call returns one of the configured return values instead of
//! reaching the module, chosen at random among those that fit the call
//! (`CKR_PIN_INCORRECT` only from `C_Login`). A fault is made as real as it can be:
//! `CKR_SESSION_HANDLE_INVALID` closes the real session first (the session is gone, as after
//! a token reset), and `CKR_DEVICE_ERROR` leaves the module as it is (the caller is
//! expected to finalize it). `C_Initialize`, `C_Finalize`, `C_CloseSession` and
//! `C_CloseAllSessions` are only counted, never failed, so the count of open sessions stays
//! true.
//!
//! Control, for a test in the same process (`hsmjwt_testkit::faults` wraps these): the
//! exported C functions `hsmjwt_faults_configure`, `hsmjwt_faults_configure_spec`,
//! `hsmjwt_faults_set_rate`, `hsmjwt_faults_block_sign`, `hsmjwt_faults_open_sessions`,
//! `hsmjwt_faults_injected`, `hsmjwt_faults_calls`, `hsmjwt_faults_logins` and
//! `hsmjwt_faults_signs_blocked`. A child process is configured at load by `HSMJWT_FAULTS`
//! in the text form of `hsmjwt_faults_configure_spec` (`rate=0.01;rv=DEVICE_ERROR,GENERAL_ERROR`,
//! `rate_ppm:C_Sign=10000,rv=SESSION_HANDLE_INVALID,latency_ms=1`; see the `spec` module); a
//! value it cannot read makes `C_GetFunctionList` fail (with the reason on stderr) rather
//! than run the test without faults.
//!
//! Nothing here panics across the C boundary: no code on these paths can panic
//! (locks are poison-tolerant, indexes are checked, stderr is written without `eprintln!`).

use std::ffi::{CStr, c_char, c_void};
use std::io::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_FLAGS, CK_FUNCTION_LIST, CK_MECHANISM, CK_NOTIFY, CK_OBJECT_HANDLE, CK_RV,
    CK_SESSION_HANDLE, CK_SLOT_ID, CK_ULONG, CK_USER_TYPE, CK_UTF8CHAR, CK_VOID_PTR,
    CKR_DEVICE_ERROR, CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR, CKR_OBJECT_HANDLE_INVALID, CKR_OK,
    CKR_PIN_INCORRECT, CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN,
};
use libloading::Library;

mod spec;

/// The module faults go to when `HSMJWT_FAULTS_TARGET` names none.
const DEFAULT_TARGET: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The return values a test may ask for, by bit (`hsmjwt_faults_configure`'s `rv_mask`) and
/// by name (`HSMJWT_FAULTS`'s `rv=`).
const FAULTS: [(u32, &str, CK_RV); 6] = [
    (1, "DEVICE_ERROR", CKR_DEVICE_ERROR),
    (2, "SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID),
    (4, "OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID),
    (8, "USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN),
    (16, "GENERAL_ERROR", CKR_GENERAL_ERROR),
    (32, "PIN_INCORRECT", CKR_PIN_INCORRECT),
];

/// The wrapped functions, by index (`hsmjwt_faults_set_rate`, `hsmjwt_faults_calls`): the
/// first [`FAULTABLE`] can be made to fail, the others are only counted.
const FUNCTIONS: [&str; 10] = [
    "C_OpenSession",
    "C_Login",
    "C_SignInit",
    "C_Sign",
    "C_FindObjectsInit",
    "C_GetAttributeValue",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_Initialize",
    "C_Finalize",
];
/// How many of [`FUNCTIONS`] can be made to fail.
const FAULTABLE: usize = 6;
const OPEN_SESSION: usize = 0;
const LOGIN: usize = 1;
const SIGN_INIT: usize = 2;
const SIGN: usize = 3;
const FIND_OBJECTS_INIT: usize = 4;
const GET_ATTRIBUTE_VALUE: usize = 5;
const CLOSE_SESSION: usize = 6;
const CLOSE_ALL_SESSIONS: usize = 7;
const INITIALIZE: usize = 8;
const FINALIZE: usize = 9;

/// The real module and the table handed out.
struct Module {
    /// Keeps the real module loaded for the life of the process.
    _library: Library,
    real: CK_FUNCTION_LIST,
    ours: CK_FUNCTION_LIST,
}

static MODULE: OnceLock<Option<Module>> = OnceLock::new();

/// Per fault-able function, calls in a million that fail.
static RATE_PPM: [AtomicU32; FAULTABLE] = [const { AtomicU32::new(0) }; FAULTABLE];
/// Per function of [`FUNCTIONS`], calls so far.
static CALLS: [AtomicU64; FUNCTIONS.len()] = [const { AtomicU64::new(0) }; FUNCTIONS.len()];
static RV_MASK: AtomicU32 = AtomicU32::new(0);
static LATENCY_US: AtomicU32 = AtomicU32::new(0);
static RANDOM: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
static OPEN_SESSIONS: AtomicI64 = AtomicI64::new(0);
static INJECTED: AtomicU64 = AtomicU64::new(0);
static LOGINS: AtomicU64 = AtomicU64::new(0);
static SIGNS_BLOCKED: AtomicU64 = AtomicU64::new(0);
/// `C_Sign` calls still to hold (changed only with [`RELEASES`] locked, so that a held call
/// cannot miss the release that follows).
static HOLD_NEXT: AtomicU64 = AtomicU64::new(0);
/// Bumped by each release: a held call waits until it changes.
static RELEASES: Mutex<u64> = Mutex::new(0);
static RELEASED: Condvar = Condvar::new();

/// The next pseudo-random number (xorshift; shared by all threads, good enough here).
fn next_random() -> u64 {
    let mut x = RANDOM.load(Ordering::Relaxed);
    loop {
        let mut y = x;
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        match RANDOM.compare_exchange_weak(x, y, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return y,
            Err(now) => x = now,
        }
    }
}

/// Counts a call of `FUNCTIONS[function]`.
fn count(function: usize) {
    if let Some(calls) = CALLS.get(function) {
        calls.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fault for this call of `FUNCTIONS[function]`, when one is due: a configured return
/// value that fits it.
fn fault(function: usize) -> Option<CK_RV> {
    let login = function == LOGIN;
    let rate = RATE_PPM
        .get(function)
        .map_or(0, |r| r.load(Ordering::Relaxed));
    if rate == 0 || next_random() % 1_000_000 >= u64::from(rate) {
        return None;
    }
    let mask = RV_MASK.load(Ordering::Relaxed);
    let fits: Vec<CK_RV> = FAULTS
        .iter()
        .filter(|(bit, _, rv)| mask & bit != 0 && (login || *rv != CKR_PIN_INCORRECT))
        .map(|(_, _, rv)| *rv)
        .collect();
    if fits.is_empty() {
        return None;
    }
    let index = usize::try_from(next_random() % fits.len() as u64).unwrap_or(0);
    let rv = fits.get(index).copied()?;
    INJECTED.fetch_add(1, Ordering::Relaxed);
    Some(rv)
}

/// Makes `config` the configuration.
fn apply(config: &spec::Config) {
    for (rate, ppm) in RATE_PPM.iter().zip(config.rates_ppm) {
        rate.store(ppm, Ordering::SeqCst);
    }
    RV_MASK.store(config.rv_mask, Ordering::SeqCst);
    LATENCY_US.store(config.latency_us, Ordering::SeqCst);
    if let Some(seed) = config.seed {
        RANDOM.store(seed, Ordering::SeqCst);
    }
}

/// Reads `HSMJWT_FAULTS`, when set; `false` (with the reason on stderr) when it cannot.
fn configure_from_env() -> bool {
    let Some(spec) = std::env::var_os("HSMJWT_FAULTS") else {
        return true;
    };
    let read = spec
        .to_str()
        .ok_or_else(|| "not UTF-8".to_owned())
        .and_then(spec::parse);
    match read {
        Ok(config) => {
            apply(&config);
            true
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "hsmjwt-testkit-faults: HSMJWT_FAULTS: {e}; the module refuses to load"
            );
            false
        }
    }
}

/// Loads the real module and builds the table, once.
fn module() -> Option<&'static Module> {
    MODULE
        .get_or_init(|| {
            if !configure_from_env() {
                return None;
            }
            let target =
                std::env::var_os("HSMJWT_FAULTS_TARGET").unwrap_or_else(|| DEFAULT_TARGET.into());
            // SAFETY: loading a PKCS#11 module runs its initialization routines, which have
            // no requirements; the library is kept loaded for the life of the process.
            let library = unsafe { Library::new(&target) }.ok()?;
            // SAFETY: `C_GetFunctionList` has the type cryptoki-sys declares for it (the
            // standard's); the pointer is copied out and used while `library` lives.
            let get: cryptoki_sys::CK_C_GetFunctionList = *unsafe {
                library.get::<cryptoki_sys::CK_C_GetFunctionList>(b"C_GetFunctionList\0")
            }
            .ok()?;
            let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
            // SAFETY: one valid, writable pointer to a `CK_FUNCTION_LIST` pointer.
            let rv = unsafe { get?(&mut list) };
            if rv != CKR_OK || list.is_null() {
                return None;
            }
            // SAFETY: `list` is non-null and points to the module's own table, valid while
            // it is loaded; the table is copied, never written.
            let real = unsafe { *list };
            let mut ours = real;
            ours.C_Initialize = Some(initialize);
            ours.C_Finalize = Some(finalize);
            ours.C_OpenSession = Some(open_session);
            ours.C_CloseSession = Some(close_session);
            ours.C_CloseAllSessions = Some(close_all_sessions);
            ours.C_Login = Some(login);
            ours.C_SignInit = Some(sign_init);
            ours.C_Sign = Some(sign);
            ours.C_FindObjectsInit = Some(find_objects_init);
            ours.C_GetAttributeValue = Some(get_attribute_value);
            Some(Module {
                _library: library,
                real,
                ours,
            })
        })
        .as_ref()
}

/// The real module's table (the table was built before any wrapper can be called).
fn real() -> Option<&'static CK_FUNCTION_LIST> {
    module().map(|m| &m.real)
}

/// `C_GetFunctionList`: the real module's table with the wrappers in it.
///
/// # Safety
/// `list` must be a valid pointer to write a table pointer to, or null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    if list.is_null() {
        return cryptoki_sys::CKR_ARGUMENTS_BAD;
    }
    let Some(module) = module() else {
        return CKR_GENERAL_ERROR;
    };
    // SAFETY: `list` is non-null and, by the caller's contract, writable. The table is
    // never written through this pointer by a conforming caller (it is `const` in the
    // standard's sense); the cast only satisfies the C signature.
    unsafe { *list = std::ptr::from_ref(&module.ours).cast_mut() };
    CKR_OK
}

unsafe extern "C" fn initialize(args: CK_VOID_PTR) -> CK_RV {
    count(INITIALIZE);
    let Some(f) = real().and_then(|r| r.C_Initialize) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(args) }
}

unsafe extern "C" fn finalize(reserved: *mut c_void) -> CK_RV {
    count(FINALIZE);
    let Some(f) = real().and_then(|r| r.C_Finalize) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    let rv = unsafe { f(reserved) };
    if rv == CKR_OK {
        // Finalizing closes every session.
        OPEN_SESSIONS.store(0, Ordering::SeqCst);
    }
    rv
}

unsafe extern "C" fn open_session(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    app: *mut c_void,
    notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    count(OPEN_SESSION);
    if let Some(rv) = fault(OPEN_SESSION) {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_OpenSession) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    let rv = unsafe { f(slot, flags, app, notify, session) };
    if rv == CKR_OK {
        OPEN_SESSIONS.fetch_add(1, Ordering::SeqCst);
    }
    rv
}

/// The real `C_CloseSession`, counted.
fn close_real(session: CK_SESSION_HANDLE) -> CK_RV {
    let Some(f) = real().and_then(|r| r.C_CloseSession) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: a session handle by value, no pointers.
    let rv = unsafe { f(session) };
    if rv == CKR_OK {
        OPEN_SESSIONS.fetch_sub(1, Ordering::SeqCst);
    }
    rv
}

unsafe extern "C" fn close_session(session: CK_SESSION_HANDLE) -> CK_RV {
    count(CLOSE_SESSION);
    close_real(session)
}

unsafe extern "C" fn close_all_sessions(slot: CK_SLOT_ID) -> CK_RV {
    count(CLOSE_ALL_SESSIONS);
    let Some(f) = real().and_then(|r| r.C_CloseAllSessions) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: a slot id by value, no pointers.
    let rv = unsafe { f(slot) };
    if rv == CKR_OK {
        // The tests use one slot.
        OPEN_SESSIONS.store(0, Ordering::SeqCst);
    }
    rv
}

/// A fault on a call that takes a session: `CKR_SESSION_HANDLE_INVALID` closes the real
/// session first, so the session is really gone.
fn session_fault(session: CK_SESSION_HANDLE, function: usize) -> Option<CK_RV> {
    let rv = fault(function)?;
    if rv == CKR_SESSION_HANDLE_INVALID {
        close_real(session);
    }
    Some(rv)
}

unsafe extern "C" fn login(
    session: CK_SESSION_HANDLE,
    user: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    LOGINS.fetch_add(1, Ordering::SeqCst);
    count(LOGIN);
    if let Some(rv) = session_fault(session, LOGIN) {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_Login) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(session, user, pin, pin_len) }
}

unsafe extern "C" fn sign_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    count(SIGN_INIT);
    if let Some(rv) = session_fault(session, SIGN_INIT) {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_SignInit) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(session, mechanism, key) }
}

unsafe extern "C" fn sign(
    session: CK_SESSION_HANDLE,
    data: *mut u8,
    data_len: CK_ULONG,
    signature: *mut u8,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    count(SIGN);
    // Length queries (null signature) are not held: the call that signs is.
    if !signature.is_null() && HOLD_NEXT.load(Ordering::SeqCst) > 0 {
        // Decided and counted with the lock held: a release (which takes it) comes either
        // before, and this call is not held, or after this call waits.
        let mut releases = RELEASES.lock().unwrap_or_else(PoisonError::into_inner);
        if HOLD_NEXT
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            SIGNS_BLOCKED.fetch_add(1, Ordering::SeqCst);
            let held_at = *releases;
            while *releases == held_at {
                releases = RELEASED
                    .wait(releases)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
    let latency = LATENCY_US.load(Ordering::Relaxed);
    if latency > 0 {
        std::thread::sleep(Duration::from_micros(u64::from(latency)));
    }
    // Not on a length query (null signature): the operation would go on in the module
    // while the caller is told it failed.
    if !signature.is_null()
        && let Some(rv) = session_fault(session, SIGN)
    {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_Sign) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(session, data, data_len, signature, signature_len) }
}

unsafe extern "C" fn find_objects_init(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    self::count(FIND_OBJECTS_INIT);
    if let Some(rv) = session_fault(session, FIND_OBJECTS_INIT) {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_FindObjectsInit) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(session, template, count) }
}

unsafe extern "C" fn get_attribute_value(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    self::count(GET_ATTRIBUTE_VALUE);
    if let Some(rv) = session_fault(session, GET_ATTRIBUTE_VALUE) {
        return rv;
    }
    let Some(f) = real().and_then(|r| r.C_GetAttributeValue) else {
        return CKR_FUNCTION_FAILED;
    };
    // SAFETY: forwarded as received.
    unsafe { f(session, object, template, count) }
}

/// Sets the faults: `rate_ppm` calls in a million of every function that can fail
/// fail, with a return value among the bits of `rv_mask` (1 `CKR_DEVICE_ERROR`, 2
/// `CKR_SESSION_HANDLE_INVALID`, 4 `CKR_OBJECT_HANDLE_INVALID`, 8 `CKR_USER_NOT_LOGGED_IN`,
/// 16 `CKR_GENERAL_ERROR`, 32 `CKR_PIN_INCORRECT`); `latency_us` is added to every
/// `C_Sign`; `seed` (non-zero) restarts the random sequence.
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_configure(rate_ppm: u32, rv_mask: u32, latency_us: u32, seed: u64) {
    for rate in &RATE_PPM {
        rate.store(rate_ppm.min(1_000_000), Ordering::SeqCst);
    }
    RV_MASK.store(rv_mask, Ordering::SeqCst);
    LATENCY_US.store(latency_us, Ordering::SeqCst);
    if seed != 0 {
        RANDOM.store(seed, Ordering::SeqCst);
    }
}

/// Sets the rate of one function (its index among `C_OpenSession`, `C_Login`,
/// `C_SignInit`, `C_Sign`, `C_FindObjectsInit`, `C_GetAttributeValue`), the rest of the
/// configuration as it is; returns 0, or -1 when `function` cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_set_rate(function: u32, rate_ppm: u32) -> i32 {
    let rate = usize::try_from(function).ok().and_then(|i| RATE_PPM.get(i));
    match rate {
        Some(rate) => {
            rate.store(rate_ppm.min(1_000_000), Ordering::SeqCst);
            0
        }
        None => -1,
    }
}

/// Replaces the configuration with the one `spec` gives in text form (as `HSMJWT_FAULTS`:
/// `rate=0.01;rv=DEVICE_ERROR,GENERAL_ERROR;latency_ms=0`, `rate:C_Sign=1`, ...). Returns 0;
/// or -1, the configuration unchanged and, when `error` is not null, the reason written to
/// it as a NUL-terminated string cut to `error_len` bytes.
///
/// # Safety
/// `spec` must be a valid NUL-terminated string, or null; `error` null or valid for writes
/// of `error_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hsmjwt_faults_configure_spec(
    spec: *const c_char,
    error: *mut c_char,
    error_len: usize,
) -> i32 {
    let read = if spec.is_null() {
        Err("no configuration (a null pointer)".to_owned())
    } else {
        // SAFETY: non-null, and NUL-terminated and valid for reads by the caller's contract.
        let spec = unsafe { CStr::from_ptr(spec) };
        spec.to_str()
            .map_err(|_| "the configuration is not UTF-8".to_owned())
            .and_then(spec::parse)
    };
    match read {
        Ok(config) => {
            apply(&config);
            0
        }
        Err(message) => {
            if !error.is_null() && error_len > 0 {
                let n = message.len().min(error_len - 1);
                // SAFETY: `error` is valid for writes of `error_len` bytes by the caller's
                // contract and `n < error_len`; the source is a live `String` of at least
                // `n` bytes, which cannot overlap the caller's buffer.
                unsafe {
                    std::ptr::copy_nonoverlapping(message.as_ptr().cast::<c_char>(), error, n);
                }
                let end = error.wrapping_add(n);
                // SAFETY: `n < error_len`, so `end` is in the caller's writable buffer.
                unsafe { end.write(0) };
            }
            -1
        }
    }
}

/// Holds the next `count` signing `C_Sign` calls until released; `count` zero releases
/// every held call (and holds no more).
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_block_sign(count: u32) {
    let mut releases = RELEASES.lock().unwrap_or_else(PoisonError::into_inner);
    HOLD_NEXT.store(u64::from(count), Ordering::SeqCst);
    if count == 0 {
        *releases = releases.wrapping_add(1);
        RELEASED.notify_all();
    }
}

/// Calls so far of one wrapped function, by index: `C_OpenSession`, `C_Login`,
/// `C_SignInit`, `C_Sign`, `C_FindObjectsInit`, `C_GetAttributeValue`, `C_CloseSession`,
/// `C_CloseAllSessions`, `C_Initialize`, `C_Finalize` (0 for another index).
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_calls(function: u32) -> u64 {
    usize::try_from(function)
        .ok()
        .and_then(|i| CALLS.get(i))
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// Sessions open now: opened minus closed (finalizing and `C_CloseAllSessions` reset it).
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_open_sessions() -> i64 {
    OPEN_SESSIONS.load(Ordering::SeqCst)
}

/// Faults injected so far.
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_injected() -> u64 {
    INJECTED.load(Ordering::SeqCst)
}

/// `C_Login` calls so far (every user type).
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_logins() -> u64 {
    LOGINS.load(Ordering::SeqCst)
}

/// `C_Sign` calls that were held by [`hsmjwt_faults_block_sign`].
#[unsafe(no_mangle)]
pub extern "C" fn hsmjwt_faults_signs_blocked() -> u64 {
    SIGNS_BLOCKED.load(Ordering::SeqCst)
}
