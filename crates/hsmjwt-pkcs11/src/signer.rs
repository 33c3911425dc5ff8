//! [`Pkcs11Signer`]: JWS signatures made by a private key that stays in the token.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use cryptoki::context::Function;
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use hsmjwt_core::{Algorithm, Jwk};
use secrecy::SecretString;

use crate::access::TokenAccess;
use crate::context::{self, Module, TokenRef};
use crate::error::{CryptokiError, Error, Result};
use crate::key;
use crate::mechanisms::Route;
use crate::pool::Pool;
use crate::raw::RawSign;
use crate::uri::{ObjectType, Pkcs11Uri};

/// Options for [`Pkcs11Signer::open`].
#[derive(Debug, Clone, Default)]
pub struct SignerOptions {
    /// The JWS algorithm; by default RS256 for RSA keys, ES256/ES384/ES512 by curve for EC
    /// keys and EdDSA for Ed25519 keys.
    pub algorithm: Option<Algorithm>,
    /// How many sessions may sign at once; by default `std::thread::available_parallelism`.
    pub pool_size: Option<usize>,
    /// The key id to put in the header's `kid` and the JWK.
    pub kid: Option<String>,
    /// The module and the PIN source, when the URI does not give them.
    pub access: TokenAccess,
}

impl SignerOptions {
    /// Sets the algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the session pool size.
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// Sets the key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets the module and the PIN source used when the URI does not give them.
    #[must_use]
    pub fn with_access(mut self, access: TokenAccess) -> Self {
        self.access = access;
        self
    }
}

/// A signature made by a [`Pkcs11Signer`], for the RustCrypto [`signature`] traits: the JWS
/// signature bytes (raw `r || s` for ECDSA, 64 bytes for Ed25519).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

impl Signature {
    /// The signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The signature bytes, owned.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Signature> for Vec<u8> {
    fn from(s: Signature) -> Self {
        s.0
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = signature::Error;

    fn try_from(bytes: &[u8]) -> Result<Self, signature::Error> {
        Ok(Signature(bytes.to_vec()))
    }
}

impl signature::SignatureEncoding for Signature {
    type Repr = Vec<u8>;
}

/// How a failed PKCS#11 call can be recovered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The session is gone: open another one and log in again.
    SessionGone,
    /// The application is logged out: log in again.
    LoggedOut,
    /// The key handle is stale: find the key again.
    StaleHandle,
    /// The module or the device is gone (a device error, a removed token, a dead link to a
    /// remote module): finalize it and initialize it again.
    ModuleLost,
    /// Anything else: report it.
    Other,
}

fn classify(e: &CryptokiError) -> Fault {
    match e {
        CryptokiError::Pkcs11(rv, _) => match rv {
            RvError::SessionHandleInvalid | RvError::SessionClosed => Fault::SessionGone,
            RvError::DeviceError
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::CryptokiNotInitialized => Fault::ModuleLost,
            RvError::UserNotLoggedIn => Fault::LoggedOut,
            RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid => Fault::StaleHandle,
            _ => Fault::Other,
        },
        _ => Fault::Other,
    }
}

/// A JWS signer whose private key stays in a PKCS#11 token.
///
/// It is `Send + Sync`: threads sign in parallel, each on its own session from a pool.
/// Lost sessions (`CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`,
/// `CKR_USER_NOT_LOGGED_IN`) and stale key handles are recovered from once per signature: a
/// new session, a new login with the same PIN, the key found again. A lost module
/// (`CKR_DEVICE_ERROR`, `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, a dead link to a
/// remote module) fails the signature with [`Error::ModuleLost`] and is finalized and
/// initialized again, the token and key found and the login made again, before later
/// signatures (attempts at most every 100 ms, doubling up to 5 s while it does not answer).
/// A wrong PIN is never tried twice.
///
/// ```no_run
/// use hsmjwt_core::{encode, Algorithm, Claims, Header};
/// use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};
///
/// let uri: Pkcs11Uri = "pkcs11:token=jwt;object=rsa-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin".parse()?;
/// let signer = Pkcs11Signer::open(&uri, SignerOptions::default())?;
/// let token = encode(&Header::jwt(Algorithm::RS256), &Claims::new().with_issuer("me"), &signer)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pkcs11Signer {
    algorithm: Algorithm,
    route: Route,
    kid: Option<String>,
    jwk: Jwk,
    token: TokenRef,
    uri: Pkcs11Uri,
    pool_size: usize,
    /// The module, slot, sessions and key handle in use; replaced when the module is
    /// initialized again after it was lost.
    live: RwLock<Arc<Live>>,
    recovery: Mutex<Recovery>,
    /// Sessions replaced for a signature under way (see [`hsmjwt_core::Recoveries`]).
    session_recoveries: AtomicU64,
    /// Times the module was initialized again after it was lost.
    module_recoveries: AtomicU64,
    pin: Option<SecretString>,
    pin_rejected: AtomicBool,
    /// For a key with `CKA_ALWAYS_AUTHENTICATE`: how to sign after `C_SignInit` and the
    /// context-specific login with [`pin`](Self::pin).
    context_login: ContextLogin,
}

/// How a signer signs a key with `CKA_ALWAYS_AUTHENTICATE`.
enum ContextLogin {
    /// The key does not have it: `Session::sign`.
    No,
    /// `C_Sign` from the module's own function table (any mechanism).
    SinglePart(RawSign),
    /// `C_SignUpdate` and `C_SignFinal` (hash-and-sign mechanisms only), where the module's
    /// function table cannot be reached.
    MultiPart,
}

/// What a signer signs with, until the module is lost.
struct Live {
    module: Module,
    slot: Slot,
    pool: Pool,
    key: Mutex<ObjectHandle>,
}

/// When the next attempt to bring a lost module back may be made.
struct Recovery {
    not_before: Option<Instant>,
    backoff: Duration,
    /// A loading of the module made by a failed attempt (initialized again, but the token
    /// or the key was not there yet: a remote module whose server was still down): the next
    /// attempt finalizes and initializes that one again.
    pending: Option<Module>,
}

/// The first wait after a failed attempt to bring a lost module back; it doubles up to
/// [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts to bring a lost module back.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("algorithm", &self.algorithm)
            .field("token", &self.token.label())
            .field("key", &self.uri.describe_object())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Opens the private key the URI names and prepares a pool of sessions for it.
    ///
    /// The module is the URI's `module-path`, else the options' [`TokenAccess::module`]. The
    /// PIN, asked for only when the token needs a login, is the URI's `pin-value`, else the
    /// file named by its `pin-source`, else the options' [`TokenAccess::pin`] (a callback
    /// is told it may ask a human; when the application is already logged in, it is asked
    /// only for a PIN at hand, kept for logging in again after a lost session). The URI
    /// must select exactly one token and one private key (by `object` and/or `id`); `type`,
    /// when given, must be `private`.
    ///
    /// # Errors
    /// - [`Error::NoModule`], [`Error::ModuleNotFound`], [`Error::ModuleLoad`];
    /// - [`Error::TokenNotFound`], [`Error::AmbiguousToken`];
    /// - [`Error::NoPin`], [`Error::PinSource`], [`Error::PinFileTooLarge`],
    ///   [`Error::PinCallback`], [`Error::PinIncorrect`] (the PIN was tried once), [`Error::PinLocked`],
    ///   [`Error::Login`];
    /// - [`Error::KeyNotFound`], [`Error::AmbiguousKey`];
    /// - [`Error::UnsupportedKey`], [`Error::PublicKey`] (RSA under 2048 bits),
    ///   [`Error::AlgorithmMismatch`];
    /// - [`Error::Pkcs11`] for other failures of the library.
    pub fn open(uri: &Pkcs11Uri, options: SignerOptions) -> Result<Self> {
        if let Some(t) = uri.object_type()
            && t != ObjectType::Private
        {
            return Err(Error::uri(
                "type",
                format!("is `{t}`, but signing needs `type=private` (or no type)"),
            ));
        }
        let module = context::shared_module(options.access.module_for(Some(uri))?)?;
        let looking_up = module.looking_up();
        let token = context::find_token(&module.ctx, uri)?;
        let label = token.label().to_owned();
        let pool_size = options
            .pool_size
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1)
            .max(1);
        let pool = Pool::new(
            module.ctx.clone(),
            token.slot,
            &label,
            pool_size,
            module.finalized(),
        );
        let (pin, handle, jwk, algorithm, route, context_login) = {
            let lease = pool.checkout()?;
            let session = lease.session()?;
            let pin = context::ensure_login(session, &token, uri, &options.access)?;
            let handle = key::find_private_key(session, &label, uri)?;
            let facts = key::describe(session, &label, handle)?;
            if facts.sign == Some(false) {
                return Err(Error::UnsupportedKey(format!(
                    "the private key with {} on token `{label}` may not sign (CKA_SIGN is false)",
                    uri.describe_object()
                )));
            }
            let always_authenticate = facts.always_authenticate == Some(true);
            let params = key::public_key(session, &label, &facts)?;
            let kind = params.kind();
            let algorithm = options
                .algorithm
                .unwrap_or_else(|| Algorithm::default_for(kind));
            if !algorithm.fits(kind) {
                return Err(Error::AlgorithmMismatch {
                    algorithm,
                    key: facts.describe_kind(),
                });
            }
            let route = module
                .offered(token.slot)
                .route(algorithm)
                .map_err(|missing| {
                    if missing.is_empty() {
                        Error::InvalidRequest(format!(
                            "algorithm {algorithm} is not supported by the PKCS#11 backend"
                        ))
                    } else {
                        Error::MechanismMissing {
                            token: label.clone(),
                            algorithm,
                            missing,
                        }
                    }
                })?;
            let mut jwk = Jwk::new(params).with_alg(algorithm).with_use("sig");
            if let Some(kid) = &options.kid {
                jwk = jwk.with_kid(kid.clone());
            }
            // A key that wants the PIN for every signature: the PIN is kept from now on
            // (asked now if the application was logged in already).
            let pin = match pin {
                Some(pin) => Some(pin),
                None if always_authenticate && !token.info.protected_authentication_path() => {
                    Some(options.access.pin_for(uri, &label, true)?.ok_or_else(|| {
                        Error::NoPin {
                            token: label.clone(),
                        }
                    })?)
                }
                None => None,
            };
            let context_login = if always_authenticate {
                tracing::debug!(token = %label, "the key has CKA_ALWAYS_AUTHENTICATE: a context-specific login before each signature");
                let raw = RawSign::load(module.path())?;
                if raw.reaches(session.handle()) {
                    ContextLogin::SinglePart(raw)
                } else if route.multi_part() {
                    ContextLogin::MultiPart
                } else {
                    return Err(Error::UnsupportedKey(format!(
                        "the private key with {} on token `{label}` wants the PIN for every signature (CKA_ALWAYS_AUTHENTICATE), and {algorithm} signs there with {}, which takes one C_Sign after the context-specific login; this module gives each caller a function table of its own (as p11-kit's client does), so that C_Sign cannot be made: use a key without CKA_ALWAYS_AUTHENTICATE, or an algorithm with a hash-and-sign mechanism",
                        uri.describe_object(),
                        route.mechanism
                    )));
                }
            } else {
                ContextLogin::No
            };
            (pin, handle, jwk, algorithm, route, context_login)
        };
        drop(looking_up);
        tracing::debug!(token = %label, %algorithm, mechanism = %route.mechanism, pool_size, "PKCS#11 signer opened");
        let slot = token.slot;
        Ok(Pkcs11Signer {
            algorithm,
            route,
            kid: options.kid,
            jwk,
            token,
            uri: uri.clone(),
            pool_size,
            live: RwLock::new(Arc::new(Live {
                module,
                slot,
                pool,
                key: Mutex::new(handle),
            })),
            recovery: Mutex::new(Recovery {
                not_before: None,
                backoff: MIN_BACKOFF,
                pending: None,
            }),
            session_recoveries: AtomicU64::new(0),
            module_recoveries: AtomicU64::new(0),
            pin,
            pin_rejected: AtomicBool::new(false),
            context_login,
        })
    }

    /// The `CKM_` name of the mechanism this signer signs with (chosen at open from what the
    /// token offers: see the crate's notes on mechanisms).
    pub fn mechanism(&self) -> String {
        self.route.mechanism.to_string()
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        self.token.label()
    }

    /// The slot number of the token holding the key (it may change when a lost module is
    /// initialized again).
    pub fn slot_id(&self) -> u64 {
        self.live().slot.id()
    }

    fn live(&self) -> Arc<Live> {
        Arc::clone(&self.live.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Logs in again after the application was logged out, with the PIN given at open.
    fn relogin(&self, session: &Session) -> Result<()> {
        let label = self.token.label();
        if !self.token.info.login_required() || context::is_logged_in(session, label)? {
            return Ok(());
        }
        if self.pin_rejected.load(Ordering::Relaxed) {
            return Err(Error::PinRejectedEarlier {
                token: label.to_owned(),
            });
        }
        match &self.pin {
            Some(pin) => {
                let r = context::login(session, label, Some(pin));
                if matches!(r, Err(Error::PinIncorrect { .. } | Error::PinLocked { .. })) {
                    self.pin_rejected.store(true, Ordering::Relaxed);
                }
                r
            }
            None if self.token.info.protected_authentication_path() => {
                context::login(session, label, None)
            }
            None => Err(Error::NoPin {
                token: label.to_owned(),
            }),
        }
    }

    /// The context-specific login (`C_Login(CKU_CONTEXT_SPECIFIC)`) a key with
    /// `CKA_ALWAYS_AUTHENTICATE` wants after `C_SignInit`, with the PIN given at open; a
    /// PIN the token rejected is not tried again.
    fn context_specific_login(&self, session: &Session) -> Result<()> {
        let label = self.token.label();
        if self.pin_rejected.load(Ordering::Relaxed) {
            return Err(Error::PinRejectedEarlier {
                token: label.to_owned(),
            });
        }
        let r = context::login_as(session, label, self.pin.as_ref(), UserType::ContextSpecific);
        if matches!(r, Err(Error::PinIncorrect { .. } | Error::PinLocked { .. })) {
            self.pin_rejected.store(true, Ordering::Relaxed);
        }
        r
    }

    /// One signature on `session`: `C_SignInit` and `C_Sign`, with the context-specific
    /// login between them for a key with `CKA_ALWAYS_AUTHENTICATE`. The outer error is a
    /// failed context-specific login, the inner one the token's answer to the operation.
    fn sign_on(
        &self,
        session: &Session,
        handle: ObjectHandle,
        mechanism: &Mechanism<'_>,
        data: &[u8],
    ) -> Result<std::result::Result<Vec<u8>, CryptokiError>> {
        if matches!(self.context_login, ContextLogin::No) {
            return Ok(session.sign(mechanism, handle, data));
        }
        if let Err(e) = session.sign_init(mechanism, handle) {
            return Ok(Err(e));
        }
        self.context_specific_login(session)?;
        Ok(match &self.context_login {
            ContextLogin::SinglePart(raw) => raw.sign(session.handle(), data),
            _ => session
                .sign_update(data)
                .and_then(|()| session.sign_final()),
        })
    }

    /// Signs the data the mechanism expects (see [`Route::input`]).
    ///
    /// A session whose operation failed is closed rather than given back to the pool (a
    /// module may leave the operation active); the one recovery for lost sessions, stale
    /// handles and logged-out applications runs on a new session.
    fn sign_data(&self, data: &[u8]) -> Result<Vec<u8>> {
        let label = self.token.label();
        let mechanism = self.route.mechanism();
        let failed = |e: CryptokiError| Error::Sign {
            operation: match &e {
                CryptokiError::Pkcs11(_, Function::SignInit) => "C_SignInit",
                _ => "C_Sign",
            },
            mechanism: self.route.mechanism.to_string(),
            token: label.to_owned(),
            source: Box::new(e),
        };
        let live = self.live();
        // No call runs while the module is finalized, and none on a finalized loading.
        let calling = live.module.calling();
        if live
            .module
            .finalized()
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            // An earlier attempt to bring it back finalized it and has not succeeded yet.
            drop(calling);
            let cause = Error::InvalidRequest(
                "the module was finalized and is being initialized again".to_owned(),
            );
            return Err(self.module_lost(&live, cause));
        }
        let mut lease = live.pool.checkout()?;
        let handle = *live.key.lock().unwrap_or_else(PoisonError::into_inner);
        let first = match self.sign_on(lease.session()?, handle, &mechanism, data) {
            Ok(first) => first,
            Err(login) => {
                lease.discard();
                return Err(login);
            }
        };
        let error = match first {
            Ok(sig) => return Ok(sig),
            Err(e) => e,
        };
        let fault = classify(&error);
        match fault {
            Fault::Other => {
                lease.discard();
                return Err(failed(error));
            }
            Fault::ModuleLost => {
                drop(lease);
                drop(calling);
                return Err(self.module_lost(&live, failed(error)));
            }
            _ => {}
        }
        tracing::warn!(token = label, error = %error, ?fault, "PKCS#11 signing failed; recovering once");
        let session = if fault == Fault::SessionGone {
            lease.reopen()?
        } else {
            lease.renew()?
        };
        let handle = {
            let _looking_up = live.module.looking_up();
            self.relogin(session)?;
            key::find_private_key(session, label, &self.uri)?
        };
        *live.key.lock().unwrap_or_else(PoisonError::into_inner) = handle;
        self.session_recoveries.fetch_add(1, Ordering::Relaxed);
        match self.sign_on(session, handle, &mechanism, data) {
            Ok(Ok(sig)) => Ok(sig),
            Ok(Err(e)) => {
                lease.discard();
                Err(failed(e))
            }
            Err(login) => {
                lease.discard();
                Err(login)
            }
        }
    }

    /// The module behind `lost` stopped answering: unless another thread did so already, or
    /// the last attempt is too recent (the wait doubles from 100 ms up to 5 s), finalizes
    /// it, initializes it again, finds the token and the key and logs in with the PIN given
    /// at open (never after a wrong one). The request that met the failure fails all the
    /// same, with [`Error::ModuleLost`]; the next ones sign on the new sessions.
    fn module_lost(&self, lost: &Arc<Live>, cause: Error) -> Error {
        let label = self.token.label();
        let lost_error = Error::ModuleLost {
            token: label.to_owned(),
            source: Box::new(cause),
        };
        let mut recovery = self.recovery.lock().unwrap_or_else(PoisonError::into_inner);
        if !Arc::ptr_eq(&self.live(), lost) {
            return lost_error;
        }
        let now = Instant::now();
        if recovery.not_before.is_some_and(|t| now < t) {
            return lost_error;
        }
        let stale = recovery
            .pending
            .take()
            .unwrap_or_else(|| lost.module.clone());
        match self.reconnect(&stale, &mut recovery.pending) {
            Ok(live) => {
                *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(live);
                recovery.not_before = None;
                recovery.backoff = MIN_BACKOFF;
                recovery.pending = None;
                self.module_recoveries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    token = label,
                    "PKCS#11 module lost and initialized again; signing goes on"
                );
            }
            Err(e) => {
                recovery.not_before = Some(now + recovery.backoff);
                tracing::warn!(token = label, error = %e, wait = ?recovery.backoff, "PKCS#11 module lost; it does not answer yet");
                recovery.backoff = (recovery.backoff * 2).min(MAX_BACKOFF);
            }
        }
        lost_error
    }

    /// A new [`Live`] on the module initialized again; when a step after the new
    /// initialization fails, that loading is left in `pending` for the next attempt.
    fn reconnect(&self, lost: &Module, pending: &mut Option<Module>) -> Result<Live> {
        let module = context::reinitialize(lost)?;
        *pending = Some(module.clone());
        let _looking_up = module.looking_up();
        let token = context::find_token(&module.ctx, &self.uri)?;
        let label = token.label().to_owned();
        let pool = Pool::new(
            module.ctx.clone(),
            token.slot,
            &label,
            self.pool_size,
            module.finalized(),
        );
        let handle = {
            let lease = pool.checkout()?;
            let session = lease.session()?;
            self.relogin(session)?;
            key::find_private_key(session, &label, &self.uri)?
        };
        Ok(Live {
            slot: token.slot,
            pool,
            key: Mutex::new(handle),
            module: module.clone(),
        })
    }

    /// Signs `message` with the configured algorithm.
    ///
    /// # Errors
    /// [`Error::Sign`] when the token fails (after one recovery for lost sessions and
    /// stale handles), [`Error::ModuleLost`] when the module stopped answering (later
    /// signatures may succeed), login errors when logging in again fails, and
    /// [`Error::SignatureLength`] when an ECDSA or Ed25519 signature has the wrong length.
    pub fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let sig = self.sign_data(&self.route.input(message))?;
        if let Some(expected) = self.algorithm.signature_len()
            && sig.len() != expected
        {
            return Err(Error::SignatureLength {
                expected,
                found: sig.len(),
            });
        }
        Ok(sig)
    }
}

impl hsmjwt_core::Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn public_key(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, hsmjwt_core::Error> {
        self.try_sign(message).map_err(hsmjwt_core::Error::sign)
    }

    /// Sessions replaced (lost, logged out, a stale key handle: each a new session, a new
    /// login and the key found again) and module reinitializations since open.
    fn recoveries(&self) -> hsmjwt_core::Recoveries {
        use std::sync::atomic::Ordering::Relaxed;
        hsmjwt_core::Recoveries::new(
            self.session_recoveries.load(Relaxed),
            self.module_recoveries.load(Relaxed),
        )
    }
}

impl signature::Signer<Vec<u8>> for Pkcs11Signer {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Pkcs11Signer::try_sign(self, msg).map_err(signature::Error::from_source)
    }
}

impl signature::Signer<Signature> for Pkcs11Signer {
    fn try_sign(&self, msg: &[u8]) -> Result<Signature, signature::Error> {
        Pkcs11Signer::try_sign(self, msg)
            .map(Signature)
            .map_err(signature::Error::from_source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults() {
        use cryptoki::context::Function;
        let e = |rv| CryptokiError::Pkcs11(rv, Function::Sign);
        assert_eq!(
            classify(&e(RvError::SessionHandleInvalid)),
            Fault::SessionGone
        );
        assert_eq!(classify(&e(RvError::SessionClosed)), Fault::SessionGone);
        assert_eq!(classify(&e(RvError::DeviceRemoved)), Fault::ModuleLost);
        assert_eq!(classify(&e(RvError::DeviceError)), Fault::ModuleLost);
        assert_eq!(classify(&e(RvError::TokenNotPresent)), Fault::ModuleLost);
        assert_eq!(classify(&e(RvError::UserNotLoggedIn)), Fault::LoggedOut);
        assert_eq!(classify(&e(RvError::KeyHandleInvalid)), Fault::StaleHandle);
        assert_eq!(
            classify(&e(RvError::ObjectHandleInvalid)),
            Fault::StaleHandle
        );
        assert_eq!(classify(&e(RvError::PinIncorrect)), Fault::Other);
        assert_eq!(classify(&e(RvError::OperationActive)), Fault::Other);
    }
}
