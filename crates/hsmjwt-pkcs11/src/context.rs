//! The process-wide registry of PKCS#11 contexts, token selection and login.
//!
//! A PKCS#11 module may be initialized only once per process, and finalizing it kills every
//! session. So each module gets one [`Pkcs11`] context, keyed by its canonical path,
//! initialized once with OS locking, and finalized only by [`finalize_all`] at the end of
//! the program.
//!
//! Each module also gets a reader-writer lock over its token objects ([`Module`]): key
//! generation holds it exclusively, token and key look-ups (opening a signer, listing,
//! finding a key again) share it. SoftHSM 2.6.1, the version Debian 12 ships, fails a
//! creation or a search that overlaps another (`CKR_GENERAL_ERROR`,
//! `CKR_OBJECT_HANDLE_INVALID`; softhsm/SoftHSMv2#573, fixed after that release), and the
//! lock also makes "is this label free, then create it" one step within the process.
//! Signing does not take the lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use secrecy::SecretString;

use crate::access::TokenAccess;
use crate::error::{CryptokiError, Error, Result};
use crate::mechanisms::Offered;
use crate::uri::Pkcs11Uri;

static CONTEXTS: Mutex<BTreeMap<PathBuf, Module>> = Mutex::new(BTreeMap::new());

/// A loaded module: its shared context and the lock over its token objects.
#[derive(Clone)]
pub(crate) struct Module {
    pub(crate) ctx: Pkcs11,
    /// The module file, canonical.
    path: PathBuf,
    /// Which loading of the module this is: a module finalized and initialized again after
    /// it was lost gets a new number.
    generation: u64,
    objects: Arc<RwLock<()>>,
    /// The signing mechanisms of each slot, asked once.
    offered: Arc<Mutex<BTreeMap<u64, Offered>>>,
    /// Held shared by every signature in flight, exclusively by [`reinitialize`]: the module
    /// is never finalized under a call (which p11-kit's client, for one, answers by
    /// aborting the process).
    calls: Arc<RwLock<()>>,
    /// Set once [`reinitialize`] finalized this loading of the module: its sessions are
    /// gone, and their handles may already name sessions of the next loading, so they are
    /// forgotten, never closed.
    finalized: Arc<AtomicBool>,
}

impl Module {
    /// The module file, canonical.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Shared hold for looking up tokens and objects; creation waits until it is dropped.
    /// Held while a call on a signing session is in flight (see [`reinitialize`]).
    pub(crate) fn calling(&self) -> RwLockReadGuard<'_, ()> {
        self.calls.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this loading of the module was finalized (by [`reinitialize`]).
    pub(crate) fn finalized(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.finalized)
    }

    pub(crate) fn looking_up(&self) -> RwLockReadGuard<'_, ()> {
        self.objects.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The signing mechanisms the token in `slot` offers, asked on first use and kept.
    pub(crate) fn offered(&self, slot: Slot) -> Offered {
        let mut cache = self.offered.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .entry(slot.id())
            .or_insert_with(|| Offered::ask(&self.ctx, slot))
            .clone()
    }

    /// Exclusive hold for creating objects.
    pub(crate) fn creating(&self) -> RwLockWriteGuard<'_, ()> {
        self.objects.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The process's shared context for a PKCS#11 module, loaded and initialized on first use.
///
/// The same context is returned for every path that resolves to the same file; it is
/// finalized only by [`finalize_all`]. Use it to open extra sessions next to the signers (sessions of one process
/// share the login).
///
/// The library's own key generation is kept apart from its look-ups (see the module notes);
/// objects you create through this context are not.
///
/// # Errors
/// [`Error::ModuleNotFound`] when the file does not exist, [`Error::ModuleLoad`] when
/// loading or `C_Initialize` fails.
pub fn shared_context(module: &Path) -> Result<Pkcs11> {
    shared_module(module).map(|m| m.ctx)
}

/// Finalizes every module this process loaded (`C_Finalize`) and forgets their contexts:
/// for the end of a program, after its last signer is gone. A module used afterwards is
/// loaded and initialized again; a signer still alive fails (its sessions are gone).
///
/// Returns the modules whose `C_Finalize` failed, with the error (they are forgotten too).
pub fn finalize_all() -> Vec<(PathBuf, Error)> {
    let modules = std::mem::take(&mut *CONTEXTS.lock().unwrap_or_else(PoisonError::into_inner));
    let mut failed = Vec::new();
    for (path, module) in modules {
        // Nothing else looks up or creates objects on it while it is finalized.
        let _creating = module.creating();
        match module.ctx.clone().finalize() {
            Ok(()) => tracing::debug!(module = %path.display(), "PKCS#11 module finalized"),
            Err(e) => failed.push((
                path.clone(),
                Error::ModuleLoad {
                    path,
                    source: Box::new(e),
                },
            )),
        }
    }
    failed
}

/// The process's [`Module`] for the module file `path`, loaded on first use.
///
/// # Errors
/// As [`shared_context`].
pub(crate) fn shared_module(path: &Path) -> Result<Module> {
    let canonical = std::fs::canonicalize(path).map_err(|source| Error::ModuleNotFound {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    let mut contexts = CONTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(m) = contexts.get(&canonical) {
        return Ok(m.clone());
    }
    let m = load(&canonical)?;
    contexts.insert(canonical, m.clone());
    Ok(m)
}

/// Loads and initializes the module file `canonical`.
fn load(canonical: &Path) -> Result<Module> {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let load_error = |source: CryptokiError| Error::ModuleLoad {
        path: canonical.to_owned(),
        source: Box::new(source),
    };
    let ctx = Pkcs11::new(canonical).map_err(load_error)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another component of this process initialized the module first: share it.
        Ok(()) | Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(load_error(e)),
    }
    tracing::debug!(module = %canonical.display(), "PKCS#11 module initialized");
    Ok(Module {
        ctx,
        path: canonical.to_owned(),
        generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        objects: Arc::default(),
        offered: Arc::default(),
        calls: Arc::default(),
        finalized: Arc::default(),
    })
}

/// How long [`reinitialize`] waits for the signatures in flight on a lost module to end.
const CALLS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// After `lost` stopped answering (a device error, a dead link to a remote module): the
/// module finalized (`C_Finalize`, its failure ignored) and initialized again, as the
/// process's context for it. When another caller did that already, its new context is
/// returned and `lost` is left alone.
///
/// # Errors
/// [`Error::ModuleLoad`] when loading or initializing it again fails.
pub(crate) fn reinitialize(lost: &Module) -> Result<Module> {
    let mut contexts = CONTEXTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(current) = contexts.get(&lost.path)
        && current.generation != lost.generation
    {
        return Ok(current.clone());
    }
    // No call may be in flight on the module while it is finalized: wait for them (they
    // fail fast on a lost module), but not without end (a call may hang in the module).
    let start = std::time::Instant::now();
    let _no_calls = loop {
        match lost.calls.try_write() {
            Ok(guard) => break guard,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) if start.elapsed() < CALLS_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(Error::ModuleLoad {
                    path: lost.path.clone(),
                    source: format!(
                        "calls on the lost module are still in flight after {CALLS_WAIT:?}; it is not finalized under them"
                    )
                    .into(),
                });
            }
        }
    };
    lost.finalized.store(true, Ordering::SeqCst);
    if let Err(e) = lost.ctx.clone().finalize() {
        tracing::debug!(module = %lost.path.display(), error = %e, "C_Finalize of a lost module failed");
    }
    contexts.remove(&lost.path);
    let module = load(&lost.path)?;
    tracing::info!(module = %lost.path.display(), "PKCS#11 module initialized again");
    contexts.insert(lost.path.clone(), module.clone());
    Ok(module)
}

/// A token selected by a URI.
pub(crate) struct TokenRef {
    pub(crate) slot: Slot,
    pub(crate) info: TokenInfo,
}

impl TokenRef {
    pub(crate) fn label(&self) -> &str {
        self.info.label()
    }
}

/// Whether the library attributes of the URI match the module.
pub(crate) fn library_matches(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<bool> {
    if uri.library_manufacturer().is_none()
        && uri.library_description().is_none()
        && uri.library_version().is_none()
    {
        return Ok(true);
    }
    let info = ctx
        .get_library_info()
        .map_err(|e| Error::pkcs11("C_GetInfo", "", e))?;
    let v = info.library_version();
    Ok(uri.library_matches(
        info.manufacturer_id(),
        info.library_description(),
        v.major(),
        v.minor(),
    ))
}

/// Whether a slot's token matches the URI's slot and token attributes.
pub(crate) fn slot_matches(
    ctx: &Pkcs11,
    slot: Slot,
    info: &TokenInfo,
    uri: &Pkcs11Uri,
) -> Result<bool> {
    if !uri.token_matches(
        info.label(),
        info.manufacturer_id(),
        info.serial_number(),
        info.model(),
    ) {
        return Ok(false);
    }
    if uri.slot_description().is_none() && uri.slot_manufacturer().is_none() {
        return Ok(uri.slot_matches(slot.id(), "", ""));
    }
    let si = ctx
        .get_slot_info(slot)
        .map_err(|e| Error::pkcs11("C_GetSlotInfo", info.label(), e))?;
    Ok(uri.slot_matches(slot.id(), si.slot_description(), si.manufacturer_id()))
}

/// Pauses before asking again for token information that failed with `CKR_GENERAL_ERROR`.
const TOKEN_INFO_PAUSES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(5),
    std::time::Duration::from_millis(20),
    std::time::Duration::from_millis(100),
];

/// `C_GetTokenInfo`, asked again (up to three times, after 5, 20 and 100 ms) when it fails
/// with `CKR_GENERAL_ERROR`.
///
/// SoftHSM rewrites a token's file whenever any process logs in to that token, and a
/// process reading the file in that instant gets `CKR_GENERAL_ERROR`. Opening a key reads
/// every token's information to find the one asked for, so without this an operator's
/// `pkcs11-tool --login` on one token could fail a service opening a key on another. The
/// call only reads; a fault that persists is returned after the last try.
pub(crate) fn token_info(
    ctx: &Pkcs11,
    slot: Slot,
) -> std::result::Result<TokenInfo, CryptokiError> {
    let mut pauses = TOKEN_INFO_PAUSES.iter();
    loop {
        match ctx.get_token_info(slot) {
            Err(e @ CryptokiError::Pkcs11(RvError::GeneralError, _)) => match pauses.next() {
                Some(pause) => {
                    tracing::debug!(slot = slot.id(), error = %e, ?pause, "C_GetTokenInfo failed; asking again");
                    std::thread::sleep(*pause);
                }
                None => return Err(e),
            },
            r => return r,
        }
    }
}

/// The one initialized token that the URI selects.
pub(crate) fn find_token(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<TokenRef> {
    let searched = uri.describe_token();
    if !library_matches(ctx, uri)? {
        return Err(Error::TokenNotFound { searched });
    }
    // Not `get_slots_with_initialized_token`: it asks for every token's information once
    // more, without `token_info`'s second chance.
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| Error::pkcs11("C_GetSlotList", "", e))?;
    let mut found = Vec::new();
    for slot in slots {
        let info = match token_info(ctx, slot) {
            Ok(info) => info,
            // A token removed between the two calls is simply not there.
            Err(CryptokiError::Pkcs11(RvError::TokenNotPresent, _)) => continue,
            Err(e) => return Err(Error::pkcs11("C_GetTokenInfo", "", e)),
        };
        if info.token_initialized() && slot_matches(ctx, slot, &info, uri)? {
            found.push(TokenRef { slot, info });
        }
    }
    match found.len() {
        0 => Err(Error::TokenNotFound { searched }),
        1 => Ok(found.remove(0)),
        count => Err(Error::AmbiguousToken {
            searched,
            count,
            labels: found
                .iter()
                .map(|t| format!("`{}` (slot {})", t.label(), t.slot.id()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Whether the session's application is logged in as the user.
pub(crate) fn is_logged_in(session: &Session, token: &str) -> Result<bool> {
    let info = session
        .get_session_info()
        .map_err(|e| Error::pkcs11("C_GetSessionInfo", token, e))?;
    Ok(matches!(
        info.session_state(),
        SessionState::RoUser | SessionState::RwUser
    ))
}

/// Logs the user in once. `UserAlreadyLoggedIn` is success; a wrong or locked PIN is its own
/// error and is never retried.
pub(crate) fn login(session: &Session, token: &str, pin: Option<&SecretString>) -> Result<()> {
    login_as(session, token, pin, UserType::User)
}

/// [`login`] as `user`: [`UserType::ContextSpecific`] is the login a key with
/// `CKA_ALWAYS_AUTHENTICATE` wants after each `C_SignInit`.
pub(crate) fn login_as(
    session: &Session,
    token: &str,
    pin: Option<&SecretString>,
    user: UserType,
) -> Result<()> {
    if matches!(user, UserType::ContextSpecific) {
        tracing::debug!(token, "context-specific login to PKCS#11 token");
    } else {
        tracing::debug!(token, "logging in to PKCS#11 token");
    }
    match session.login(user, pin) {
        Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(source @ CryptokiError::Pkcs11(RvError::PinIncorrect, _)) => {
            tracing::debug!(token, "PKCS#11 token rejected the PIN");
            Err(Error::PinIncorrect {
                token: token.to_owned(),
                source: Box::new(source),
            })
        }
        Err(source @ CryptokiError::Pkcs11(RvError::PinLocked, _)) => Err(Error::PinLocked {
            token: token.to_owned(),
            source: Some(Box::new(source)),
        }),
        Err(source) => Err(Error::Login {
            token: token.to_owned(),
            source: Box::new(source),
        }),
    }
}

/// Logs in when the token requires it and the session is not logged in yet, asking for the
/// PIN only then (a human may be asked). Returns the PIN used (or available), to log in
/// again later.
pub(crate) fn ensure_login(
    session: &Session,
    token: &TokenRef,
    uri: &Pkcs11Uri,
    access: &TokenAccess,
) -> Result<Option<SecretString>> {
    let label = token.label();
    if !token.info.login_required() {
        return Ok(None);
    }
    if is_logged_in(session, label)? {
        // Keep a PIN, if one is at hand without asking anyone, for logging in again after a
        // lost session.
        return access.pin_for(uri, label, false);
    }
    if token.info.user_pin_locked() {
        return Err(Error::PinLocked {
            token: label.to_owned(),
            source: None,
        });
    }
    let pin = access.pin_for(uri, label, true)?;
    match &pin {
        Some(pin) => login(session, label, Some(pin))?,
        None if token.info.protected_authentication_path() => login(session, label, None)?,
        None => {
            return Err(Error::NoPin {
                token: label.to_owned(),
            });
        }
    }
    Ok(pin)
}

/// A read-write session on the one token a URI selects, logged in when the token needs a
/// login, for creating objects; `module` is the module it came from (creation takes its
/// [`Module::creating`] lock).
pub(crate) struct RwSession {
    pub(crate) module: Module,
    pub(crate) token: String,
    pub(crate) session: Session,
}

/// Opens an [`RwSession`] on the token the URI selects, with the module and PIN of `access`
/// where the URI does not give them. Token look-up holds the module's look-up lock.
///
/// # Errors
/// The module, token and login errors, and [`Error::InvalidRequest`] for a write-protected
/// token.
pub(crate) fn open_rw_session(uri: &Pkcs11Uri, access: &TokenAccess) -> Result<RwSession> {
    let module = shared_module(access.module_for(Some(uri))?)?;
    let (token, session) = {
        let _looking_up = module.looking_up();
        let token = find_token(&module.ctx, uri)?;
        let label = token.label().to_owned();
        if token.info.write_protected() {
            return Err(Error::InvalidRequest(format!(
                "token `{label}` is write-protected"
            )));
        }
        let session = module
            .ctx
            .open_rw_session(token.slot)
            .map_err(|e| Error::pkcs11("C_OpenSession", &label, e))?;
        ensure_login(&session, &token, uri, access)?;
        (label, session)
    };
    Ok(RwSession {
        module,
        token,
        session,
    })
}
