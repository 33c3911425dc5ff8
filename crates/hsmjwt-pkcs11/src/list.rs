//! The inventory of a module: slots, tokens and key objects.

use std::fmt;
use std::path::PathBuf;

use cryptoki::context::Pkcs11;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, TokenInfo};
use hsmjwt_core::text::Untrusted;
use hsmjwt_core::{Algorithm, KeyKind};
use serde::Serialize;

use crate::access::TokenAccess;
use crate::context;
use crate::error::{CryptokiError, Error, Result};
use crate::key::{self, KeyFacts};
use crate::mechanisms::Offered;
use crate::objects::CertificateEntry;
use crate::uri::{ObjectType, Pkcs11Uri, hex};

/// What a PKCS#11 module shows: its slots, their tokens and the tokens' keys.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Inventory {
    /// The module file.
    pub module: PathBuf,
    /// The module's own description.
    pub library: LibraryInfo,
    /// Every slot (only those matching the URI when one was given).
    pub slots: Vec<SlotEntry>,
}

/// A PKCS#11 module's description (`C_GetInfo`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LibraryInfo {
    /// The library manufacturer.
    pub manufacturer: String,
    /// The library description.
    pub description: String,
    /// The library version, `M.m`.
    pub version: String,
    /// The PKCS#11 version the library implements, `M.m`.
    pub cryptoki_version: String,
}

/// One slot.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SlotEntry {
    /// The slot number (the URI's `slot-id`).
    pub id: u64,
    /// The slot description.
    pub description: String,
    /// The slot manufacturer.
    pub manufacturer: String,
    /// The token in the slot, if any.
    pub token: Option<TokenEntry>,
}

/// One token.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TokenEntry {
    /// The token label.
    pub label: String,
    /// The token manufacturer.
    pub manufacturer: String,
    /// The token model.
    pub model: String,
    /// The token serial number.
    pub serial: String,
    /// The token's flags.
    pub flags: TokenFlags,
    /// A URI naming the token.
    pub uri: String,
    /// The signing mechanisms the token offers (`CKM_` names of those hsmjwt can use), or
    /// `None` when the token does not list its mechanisms. Keys' `algorithms` follow it.
    pub mechanisms: Option<Vec<String>>,
    /// Whether the listing was logged in, so that private keys show.
    pub logged_in: bool,
    /// The key objects that could be seen (public keys only when not logged in).
    pub keys: Vec<KeyEntry>,
    /// The X.509 certificate objects.
    pub certificates: Vec<CertificateEntry>,
    /// Why private keys are not shown, when they are not (the text of [`Self::not_logged_in`]).
    pub note: Option<String>,
    /// Why the listing did not log in, when it needed to and did not.
    #[serde(skip)]
    pub not_logged_in: Option<NotLoggedIn>,
}

/// Why a listing did not log in to a token that needs a login, so that its private keys are
/// not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotLoggedIn {
    /// The user PIN is locked.
    PinLocked,
    /// The user PIN is not set.
    PinNotSet,
    /// No PIN: the token URI has no `pin-value` or `pin-source` and the options' PIN source
    /// gave none.
    NoPin,
    /// No token URI was given and the module has more than one initialized token: the
    /// options' PIN source is used only for a module's only token.
    NotNamed,
}

impl NotLoggedIn {
    /// Why private keys are not shown, in a sentence that speaks of URIs and options.
    pub fn note(self) -> &'static str {
        match self {
            NotLoggedIn::PinLocked => "the user PIN is locked; private keys are not shown",
            NotLoggedIn::PinNotSet => "the user PIN is not set; private keys are not shown",
            NotLoggedIn::NoPin => {
                "not logged in, so private keys are not shown: add pin-source to the token URI, or give a PIN source in the options"
            }
            NotLoggedIn::NotNamed => {
                "not logged in, so private keys are not shown: name this token with a URI that has pin-source (the options' PIN source serves only a module's only token)"
            }
        }
    }
}

/// A token's flags.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TokenFlags {
    /// The token is initialized.
    pub initialized: bool,
    /// Using keys needs a login.
    pub login_required: bool,
    /// The user PIN is set.
    pub user_pin_initialized: bool,
    /// The user PIN is locked.
    pub user_pin_locked: bool,
    /// A wrong user PIN was given since the last good login.
    pub user_pin_count_low: bool,
    /// One more wrong user PIN locks it.
    pub user_pin_final_try: bool,
    /// The user PIN must be changed.
    pub user_pin_to_be_changed: bool,
    /// The token is read-only.
    pub write_protected: bool,
    /// The PIN is entered on the device (PIN pad), not given by the application.
    pub protected_authentication_path: bool,
}

impl TokenFlags {
    fn from_info(i: &TokenInfo) -> Self {
        TokenFlags {
            initialized: i.token_initialized(),
            login_required: i.login_required(),
            user_pin_initialized: i.user_pin_initialized(),
            user_pin_locked: i.user_pin_locked(),
            user_pin_count_low: i.user_pin_count_low(),
            user_pin_final_try: i.user_pin_final_try(),
            user_pin_to_be_changed: i.user_pin_to_be_changed(),
            write_protected: i.write_protected(),
            protected_authentication_path: i.protected_authentication_path(),
        }
    }

    /// The flags that are set, in words ("initialized", "login required", ...).
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.initialized, "initialized"),
            (!self.initialized, "not initialized"),
            (self.login_required, "login required"),
            (self.user_pin_initialized, "user PIN initialized"),
            (self.user_pin_locked, "user PIN locked"),
            (self.user_pin_count_low, "user PIN count low"),
            (self.user_pin_final_try, "user PIN final try"),
            (self.user_pin_to_be_changed, "user PIN to be changed"),
            (self.write_protected, "write-protected"),
            (self.protected_authentication_path, "PIN pad"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// The class of a key object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyClass {
    /// A private key.
    Private,
    /// A public key.
    Public,
}

impl fmt::Display for KeyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyClass::Private => "private",
            KeyClass::Public => "public",
        })
    }
}

/// One key object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct KeyEntry {
    /// Private or public.
    pub class: KeyClass,
    /// `CKA_LABEL`.
    pub label: Option<String>,
    /// `CKA_ID`, lower-case hex.
    pub id: String,
    /// The key type, for example `RSA`, `EC` or `EC_EDWARDS` (`CKK_EC_EDWARDS`).
    pub key_type: String,
    /// The size in bits (RSA modulus, EC curve: 256, 384, 521; 256 for Ed25519).
    pub bits: Option<usize>,
    /// The curve of an EC or EC Edwards key, for example `P-256` or `Ed25519`.
    pub curve: Option<String>,
    /// The JWS algorithms this key can sign with (empty for public keys and unusable keys).
    pub algorithms: Vec<Algorithm>,
    /// A URI naming the key.
    pub uri: String,
    /// How a private key is protected; `None` for public keys.
    pub protection: Option<KeyProtection>,
}

/// How a private key is protected, as the token tells it (each `None` when the token does
/// not say). A key made inside the token and never exportable in plain is sensitive, not
/// extractable, always sensitive, never extractable and local.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeyProtection {
    /// `CKA_SENSITIVE`: the key's secret parts cannot be read out in plain.
    pub sensitive: Option<bool>,
    /// `CKA_EXTRACTABLE`: the key can be exported, wrapped by another key.
    pub extractable: Option<bool>,
    /// `CKA_ALWAYS_SENSITIVE`: the key has been sensitive since it was made.
    pub always_sensitive: Option<bool>,
    /// `CKA_NEVER_EXTRACTABLE`: the key has never been extractable.
    pub never_extractable: Option<bool>,
    /// `CKA_LOCAL`: the key was generated in the token, not imported.
    pub local: Option<bool>,
    /// `CKA_ALWAYS_AUTHENTICATE`: the token wants the PIN again for every signature (a
    /// context-specific login), which this library does not give yet.
    pub always_authenticate: Option<bool>,
}

impl KeyProtection {
    /// Reads the protection attributes of a private key object.
    fn read(session: &Session, token: &str, handle: ObjectHandle) -> Result<Self> {
        let attrs = key::attributes(
            session,
            token,
            handle,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Local,
                AttributeType::AlwaysAuthenticate,
            ],
        )?;
        let mut p = KeyProtection::default();
        for a in attrs {
            match a {
                Attribute::Sensitive(v) => p.sensitive = Some(v),
                Attribute::Extractable(v) => p.extractable = Some(v),
                Attribute::AlwaysSensitive(v) => p.always_sensitive = Some(v),
                Attribute::NeverExtractable(v) => p.never_extractable = Some(v),
                Attribute::Local(v) => p.local = Some(v),
                Attribute::AlwaysAuthenticate(v) => p.always_authenticate = Some(v),
                _ => {}
            }
        }
        Ok(p)
    }

    /// The attributes the token told, in words ("sensitive", "not extractable", ...).
    pub fn words(&self) -> Vec<&'static str> {
        [
            (self.sensitive, "sensitive", "not sensitive"),
            (self.extractable, "extractable", "not extractable"),
            (
                self.always_sensitive,
                "always sensitive",
                "not always sensitive",
            ),
            (
                self.never_extractable,
                "never extractable",
                "may have been extractable",
            ),
            (self.local, "generated in the token", "imported"),
        ]
        .into_iter()
        .filter_map(|(value, yes, no)| value.map(|v| if v { yes } else { no }))
        .chain(
            (self.always_authenticate == Some(true))
                .then_some("PIN wanted for every signature (CKA_ALWAYS_AUTHENTICATE)"),
        )
        .collect()
    }
}

/// Lists the slots, tokens and keys of a module.
///
/// The module is the token URI's `module-path`, else [`TokenAccess::module`]. With a
/// `token_uri`, only the tokens it matches are listed, and a PIN is looked for to log in to
/// those that need it and are not logged in yet: the URI's `pin-value`, else its
/// `pin-source`, else [`TokenAccess::pin`] (a callback may ask a human). Without a token
/// URI, [`TokenAccess::pin`] is used only when the module has exactly one initialized token,
/// and a callback is told not to ask anyone. Without a login, private keys are not shown and
/// [`TokenEntry::not_logged_in`] says why.
///
/// # Errors
/// The module errors of [`Pkcs11Signer::open`](crate::Pkcs11Signer::open),
/// [`Error::PinIncorrect`] and [`Error::PinLocked`] (the PIN is tried once),
/// [`Error::PinSource`], [`Error::PinFileTooLarge`], [`Error::PinCallback`], and
/// [`Error::Pkcs11`] when the library fails.
pub fn list(token_uri: Option<&Pkcs11Uri>, access: &TokenAccess) -> Result<Inventory> {
    let module_path = access.module_for(token_uri)?.to_owned();
    let module = context::shared_module(&module_path)?;
    let _looking_up = module.looking_up();
    let ctx = &module.ctx;
    let info = ctx
        .get_library_info()
        .map_err(|e| Error::pkcs11("C_GetInfo", "", e))?;
    let library = LibraryInfo {
        manufacturer: info.manufacturer_id().to_owned(),
        description: info.library_description().to_owned(),
        version: info.library_version().to_string(),
        cryptoki_version: info.cryptoki_version().to_string(),
    };
    let mut inventory = Inventory {
        module: module_path,
        library,
        slots: Vec::new(),
    };
    if let Some(uri) = token_uri
        && !context::library_matches(ctx, uri)?
    {
        return Ok(inventory);
    }
    let slots = ctx
        .get_all_slots()
        .map_err(|e| Error::pkcs11("C_GetSlotList", "", e))?;
    let mut tokens = Vec::new();
    for slot in slots {
        let slot_info = ctx
            .get_slot_info(slot)
            .map_err(|e| Error::pkcs11("C_GetSlotInfo", "", e))?;
        let token_info = if slot_info.token_present() {
            match context::token_info(ctx, slot) {
                Ok(i) => Some(i),
                Err(CryptokiError::Pkcs11(cryptoki::error::RvError::TokenNotPresent, _)) => None,
                Err(e) => {
                    return Err(Error::pkcs11("C_GetTokenInfo", "", e));
                }
            }
        } else {
            None
        };
        if let Some(uri) = token_uri {
            let Some(ti) = &token_info else { continue };
            if !context::slot_matches(ctx, slot, ti, uri)? {
                continue;
            }
        }
        tokens.push((slot, slot_info, token_info));
    }
    let initialized = tokens
        .iter()
        .filter(|(_, _, t)| t.as_ref().is_some_and(TokenInfo::token_initialized))
        .count();
    for (slot, slot_info, token_info) in tokens {
        let token = match token_info {
            Some(info) => Some(token_entry(
                ctx,
                slot,
                info,
                token_uri,
                access,
                initialized,
            )?),
            None => None,
        };
        inventory.slots.push(SlotEntry {
            id: slot.id(),
            description: slot_info.slot_description().to_owned(),
            manufacturer: slot_info.manufacturer_id().to_owned(),
            token,
        });
    }
    Ok(inventory)
}

fn token_entry(
    ctx: &Pkcs11,
    slot: Slot,
    info: TokenInfo,
    token_uri: Option<&Pkcs11Uri>,
    access: &TokenAccess,
    initialized_tokens: usize,
) -> Result<TokenEntry> {
    let label = info.label().to_owned();
    let token_ref = Pkcs11Uri::new().with_token(label.clone());
    let mut entry = TokenEntry {
        label: label.clone(),
        manufacturer: info.manufacturer_id().to_owned(),
        model: info.model().to_owned(),
        serial: info.serial_number().to_owned(),
        flags: TokenFlags::from_info(&info),
        uri: token_ref.to_string(),
        mechanisms: None,
        logged_in: false,
        keys: Vec::new(),
        certificates: Vec::new(),
        note: None,
        not_logged_in: None,
    };
    if !info.token_initialized() {
        return Ok(entry);
    }
    let offered = Offered::ask(ctx, slot);
    entry.mechanisms = offered.names();
    let session = ctx
        .open_ro_session(slot)
        .map_err(|e| Error::pkcs11("C_OpenSession", &label, e))?;
    let token = context::TokenRef { slot, info };
    if token.info.login_required() {
        entry.logged_in = context::is_logged_in(&session, &label)?;
        if !entry.logged_in {
            let why = if token.info.user_pin_locked() {
                Some(NotLoggedIn::PinLocked)
            } else if !token.info.user_pin_initialized() {
                Some(NotLoggedIn::PinNotSet)
            } else {
                // A PIN is only for the token it was meant for: the URI's tokens, or the only
                // one. Without a URI, nobody is asked to type one.
                let pin = match token_uri {
                    Some(uri) => access.pin_for(uri, &label, true)?,
                    None if initialized_tokens == 1 => {
                        access.pin_for(&Pkcs11Uri::new(), &label, false)?
                    }
                    None => None,
                };
                match pin {
                    Some(pin) => {
                        context::login(&session, &label, Some(&pin))?;
                        entry.logged_in = true;
                        None
                    }
                    None if token_uri.is_none() && initialized_tokens > 1 => {
                        Some(NotLoggedIn::NotNamed)
                    }
                    None => Some(NotLoggedIn::NoPin),
                }
            };
            entry.note = why.map(|w| w.note().to_owned());
            entry.not_logged_in = why;
        }
    } else {
        entry.logged_in = true;
    }
    for (class, kind) in [
        (ObjectClass::PRIVATE_KEY, KeyClass::Private),
        (ObjectClass::PUBLIC_KEY, KeyClass::Public),
    ] {
        let handles = session
            .find_objects(&[cryptoki::object::Attribute::Class(class)])
            .map_err(|e| Error::pkcs11("C_FindObjects", &label, e))?;
        for handle in handles {
            entry
                .keys
                .push(key_entry(&session, &label, handle, kind, &offered)?);
        }
    }
    entry
        .keys
        .sort_by(|a, b| (&a.label, &a.id, a.class as u8).cmp(&(&b.label, &b.id, b.class as u8)));
    entry.certificates = crate::objects::list_certificates(&session, &label)?;
    Ok(entry)
}

fn key_entry(
    session: &Session,
    token: &str,
    handle: ObjectHandle,
    class: KeyClass,
    offered: &Offered,
) -> Result<KeyEntry> {
    let facts: KeyFacts = key::describe(session, token, handle)?;
    let kind = facts.kind();
    let (bits, curve) = match kind {
        Some(KeyKind::Ec(c)) => (Some(c.bits()), Some(c.to_string())),
        Some(KeyKind::Okp(c)) => (Some(c.bits()), Some(c.to_string())),
        _ if facts.key_type == Some(cryptoki::object::KeyType::RSA) => (facts.rsa_bits(), None),
        _ => (None, None),
    };
    let algorithms = match (class, kind) {
        (KeyClass::Private, Some(kind)) if facts.sign != Some(false) => Algorithm::ALL
            .into_iter()
            .filter(|a| a.fits(kind))
            .filter(|a| offered.route(*a).is_ok())
            .filter(|_| {
                kind != KeyKind::Rsa || bits.is_some_and(|b| b >= hsmjwt_core::jwk::MIN_RSA_BITS)
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut uri = Pkcs11Uri::new()
        .with_token(token)
        .with_object_type(match class {
            KeyClass::Private => ObjectType::Private,
            KeyClass::Public => ObjectType::Public,
        });
    if let Some(label) = &facts.label {
        uri = uri.with_object(label.clone());
    }
    if !facts.id.is_empty() {
        uri = uri.with_id(facts.id.clone());
    }
    Ok(KeyEntry {
        class,
        label: facts.label.clone(),
        id: hex(&facts.id),
        key_type: match facts.key_type {
            Some(cryptoki::object::KeyType::RSA) => "RSA".to_owned(),
            Some(cryptoki::object::KeyType::EC) => "EC".to_owned(),
            Some(cryptoki::object::KeyType::EC_EDWARDS) => "EC_EDWARDS".to_owned(),
            Some(t) => t.to_string(),
            None => "unknown".to_owned(),
        },
        bits,
        curve,
        algorithms,
        uri: uri.to_string(),
        protection: match class {
            KeyClass::Private => Some(KeyProtection::read(session, token, handle)?),
            KeyClass::Public => None,
        },
    })
}

impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "module {}: {} by {}, version {}, PKCS#11 {}",
            Untrusted(&self.module.to_string_lossy()),
            Untrusted(&self.library.description),
            Untrusted(&self.library.manufacturer),
            self.library.version,
            self.library.cryptoki_version
        )?;
        write_each(f, &self.slots, "no slots")
    }
}

/// Writes each item, or the line `none` when there are none.
fn write_each<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T], none: &str) -> fmt::Result {
    if items.is_empty() {
        writeln!(f, "{none}")?;
    }
    items.iter().try_for_each(|item| write!(f, "{item}"))
}

impl fmt::Display for SlotEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "slot {}: {}", self.id, Untrusted(&self.description))?;
        match &self.token {
            None => writeln!(f, "  no token"),
            Some(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.flags.initialized {
            return writeln!(
                f,
                "  token not initialized ({}, {})",
                Untrusted(&self.manufacturer),
                Untrusted(&self.model)
            );
        }
        writeln!(
            f,
            "  token `{}`: {} {}, serial {}",
            Untrusted(&self.label),
            Untrusted(&self.manufacturer),
            Untrusted(&self.model),
            Untrusted(&self.serial)
        )?;
        writeln!(f, "    flags: {}", self.flags.names().join(", "))?;
        writeln!(f, "    uri:   {}", self.uri)?;
        if let Some(mechanisms) = &self.mechanisms {
            let shown = if mechanisms.is_empty() {
                "none hsmjwt can use".to_owned()
            } else {
                mechanisms.join(" ")
            };
            writeln!(f, "    signs with: {shown}")?;
        }
        if let Some(note) = &self.note {
            writeln!(f, "    {note}")?;
        }
        write_each(f, &self.keys, "    no keys")?;
        self.certificates.iter().try_for_each(|c| write!(f, "{c}"))
    }
}

impl fmt::Display for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = match (&self.curve, self.bits) {
            (Some(c), _) => c.clone(),
            (None, Some(b)) => format!("{b} bits"),
            (None, None) => String::new(),
        };
        let algs = if self.algorithms.is_empty() {
            String::new()
        } else {
            format!(
                ", signs {}",
                self.algorithms
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        writeln!(
            f,
            "    {} key `{}` id {}: {} {}{}",
            self.class,
            Untrusted(self.label.as_deref().unwrap_or("")),
            if self.id.is_empty() { "-" } else { &self.id },
            self.key_type,
            size,
            algs
        )?;
        if let Some(words) = self.protection.map(|p| p.words()).filter(|w| !w.is_empty()) {
            writeln!(f, "      {}", words.join(", "))?;
        }
        writeln!(f, "      {}", self.uri)
    }
}
