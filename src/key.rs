//! Opening keys by name: a file path (PEM, DER or JWK) or a `pkcs11:` URI.
//!
//! This is what the CLI's `--key` flag accepts, offered to library users too. For `pkcs11:`
//! URIs this module holds the application's policy, which the `hsmjwt-pkcs11` crate leaves
//! to its caller ([`env_access`]): the module is the URI's `module-path`, else
//! `$PKCS11_MODULE` ([`MODULE_ENV`]); the PIN, looked for only when a login is needed, is
//! the URI's `pin-value` or `pin-source`, else `$HSMJWT_PIN` ([`PIN_ENV`]), else a prompt
//! on the terminal when stdin is one. [`KeySource::open`], [`generate_in_token`],
//! [`store_certificate_in_token`] and [`list_tokens`] use it.

use std::path::PathBuf;
use std::str::FromStr;

use hsmjwt_core::{Algorithm, Jwk, Signer};

/// Environment variable naming the PKCS#11 module when the URI has no `module-path`.
#[cfg(feature = "pkcs11")]
pub const MODULE_ENV: &str = "PKCS11_MODULE";

/// Environment variable holding the user PIN when the URI has no `pin-value`/`pin-source`.
#[cfg(feature = "pkcs11")]
pub const PIN_ENV: &str = "HSMJWT_PIN";

/// Why a key could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A software key could not be loaded or used.
    #[error(transparent)]
    Soft(#[from] hsmjwt_soft::Error),
    /// An HSM key could not be opened or used.
    #[cfg(feature = "pkcs11")]
    #[error(transparent)]
    Pkcs11(#[from] hsmjwt_pkcs11::Error),
    /// A `pkcs11:` URI was given but the crate was built without the `pkcs11` feature.
    #[error("`pkcs11:` key URIs need the `pkcs11` feature of the hsmjwt crate")]
    Pkcs11Disabled,
    /// A core check failed.
    #[error(transparent)]
    Core(#[from] hsmjwt_core::Error),
    /// `$HSMJWT_PIN` is set but is not UTF-8.
    #[cfg(feature = "pkcs11")]
    #[error("{PIN_ENV} is not UTF-8")]
    PinNotUtf8,
    /// The PIN prompt on the terminal failed.
    #[cfg(feature = "pkcs11")]
    #[error("cannot read the PIN from the terminal")]
    PinPrompt(#[source] hsmjwt_pkcs11::BoxError),
    /// The certificate given for an import is not the key's.
    #[cfg(feature = "pkcs11")]
    #[error("the certificate `{subject}` is not for the key being imported")]
    ImportCertificateMismatch {
        /// The certificate's subject (cleaned for printing).
        subject: String,
    },
    /// The imported key did not sign as the key it was made from; the objects the import
    /// created were removed (`removed`) or could not be (then the error says so).
    #[cfg(feature = "pkcs11")]
    #[error(
        "the imported key failed its probe signature, {}",
        if *.removed { "and the objects it created were removed" } else { "and the objects it created could not be removed" }
    )]
    ImportProbe {
        /// Whether the new objects were removed again.
        removed: bool,
        /// Why the probe failed.
        #[source]
        source: Box<KeyError>,
    },
}

/// Where a key lives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A file holding a PEM, DER or JWK key (or, for public keys, a certificate).
    File(PathBuf),
    /// A key in a PKCS#11 token, addressed by an RFC 7512 URI.
    #[cfg(feature = "pkcs11")]
    Pkcs11(Box<hsmjwt_pkcs11::Pkcs11Uri>),
}

impl std::fmt::Display for KeySource {
    /// The key's name as it may be printed: the file's path, or the URI with its
    /// `pin-value` redacted (see [`hsmjwt_pkcs11::Pkcs11Uri`]'s `Display`). Print a key
    /// this way, never as the user gave it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "{}", path.display()),
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11(uri) => write!(f, "{uri}"),
        }
    }
}

impl FromStr for KeySource {
    type Err = KeyError;

    /// Parses a key name: anything starting with `pkcs11:` (in any case: URI schemes are
    /// case-insensitive, RFC 3986 section 3.1) is a PKCS#11 URI, anything else a file path.
    fn from_str(s: &str) -> Result<Self, KeyError> {
        if is_pkcs11_uri(s) {
            #[cfg(feature = "pkcs11")]
            return Ok(KeySource::Pkcs11(Box::new(s.parse()?)));
            #[cfg(not(feature = "pkcs11"))]
            return Err(KeyError::Pkcs11Disabled);
        }
        Ok(KeySource::File(PathBuf::from(s)))
    }
}

/// Whether `s` names a PKCS#11 URI: `pkcs11:` in any case.
fn is_pkcs11_uri(s: &str) -> bool {
    #[cfg(feature = "pkcs11")]
    return hsmjwt_pkcs11::is_pkcs11_uri(s);
    #[cfg(not(feature = "pkcs11"))]
    return s
        .get(.."pkcs11:".len())
        .is_some_and(|p| p.eq_ignore_ascii_case("pkcs11:"));
}

/// How [`KeySource::open`] opens a private key: set the fields you need, default the rest.
///
/// ```
/// use hsmjwt::key::OpenOptions;
///
/// // An HSM key for eight signing threads; the key's own algorithm.
/// let options = OpenOptions { pool_size: Some(8), ..OpenOptions::default() };
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The JWS algorithm; by default the key's own (RS256 for RSA, ES256/ES384/ES512 by
    /// curve, EdDSA for Ed25519).
    pub algorithm: Option<Algorithm>,
    /// How many threads may sign at once with an HSM key (its session pool); by default
    /// the number of CPUs. A file key signs from any number of threads and ignores it.
    pub pool_size: Option<usize>,
    /// The key id for the header's `kid` and the JWK.
    pub kid: Option<String>,
}

impl KeySource {
    /// Opens the private key as a signer. An HSM key is reached through [`env_access`].
    ///
    /// # Errors
    /// Fails when the file cannot be read or parsed, when the algorithm does not fit the
    /// key, or when the module, the token, the PIN or the key is wrong.
    pub fn open(&self, options: &OpenOptions) -> Result<Box<dyn Signer>, KeyError> {
        match self {
            KeySource::File(path) => {
                let key = hsmjwt_soft::PrivateKey::load(path)?;
                let signer = hsmjwt_soft::SoftSigner::new(key, options.algorithm)?;
                Ok(match &options.kid {
                    Some(kid) => Box::new(signer.with_kid(kid.clone())),
                    None => Box::new(signer),
                })
            }
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11(uri) => {
                let options = hsmjwt_pkcs11::SignerOptions {
                    algorithm: options.algorithm,
                    pool_size: options.pool_size,
                    kid: options.kid.clone(),
                    access: env_access(),
                };
                Ok(Box::new(hsmjwt_pkcs11::Pkcs11Signer::open(uri, options)?))
            }
        }
    }

    /// Opens the private key as a signer for `alg` (the key's default algorithm when
    /// `None`: RS256 for RSA, ES256/ES384/ES512 by curve, EdDSA for Ed25519):
    /// [`KeySource::open`] with only the
    /// algorithm set.
    ///
    /// # Errors
    /// As [`KeySource::open`].
    pub fn open_signer(&self, alg: Option<Algorithm>) -> Result<Box<dyn Signer>, KeyError> {
        self.open(&OpenOptions {
            algorithm: alg,
            ..OpenOptions::default()
        })
    }

    /// The public key, as a JWK. A file may hold a private key, a public key, a certificate
    /// or a JWK; a public JWK file keeps its `kid`, `alg`, `use` and `key_ops` (so `alg` pins
    /// the verification algorithm), anything else gives a JWK without them.
    ///
    /// An HSM key is read by [`hsmjwt_pkcs11::public_key`] through [`env_access`], as a JWK
    /// with only its key material: a `type=public` or `type=cert` URI (as `hsmjwt hsm list`
    /// prints them) reads the public key object, or the certificate object with its id,
    /// without a PIN; `type=private` logs in (the PIN from the URI, `$HSMJWT_PIN` or a
    /// prompt); a URI without a type logs in only when a PIN is at hand without asking (the
    /// URI's, or `$HSMJWT_PIN`), else reads the public objects. Nobody is prompted for a PIN
    /// to read a public key.
    ///
    /// # Errors
    /// As [`KeySource::open`], and [`hsmjwt_pkcs11::public_key`]'s.
    pub fn public_key(&self) -> Result<Jwk, KeyError> {
        match self {
            KeySource::File(path) => Ok(hsmjwt_soft::PublicKey::load_jwk(path)?.1),
            #[cfg(feature = "pkcs11")]
            KeySource::Pkcs11(uri) => Ok(hsmjwt_pkcs11::public_key(uri, &env_access())?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_scheme_is_matched_in_any_case() -> Result<(), KeyError> {
        for name in [
            "pkcs11:token=t;object=k",
            "PKCS11:token=t;object=k",
            "Pkcs11:object=k",
        ] {
            #[cfg(feature = "pkcs11")]
            assert!(
                matches!(name.parse::<KeySource>()?, KeySource::Pkcs11(_)),
                "{name}"
            );
            #[cfg(not(feature = "pkcs11"))]
            assert!(
                matches!(name.parse::<KeySource>(), Err(KeyError::Pkcs11Disabled)),
                "{name}"
            );
        }
        for name in ["key.pem", "pkcs11", "./pkcs11:key.pem", "pkcs1:x"] {
            assert!(
                matches!(name.parse::<KeySource>()?, KeySource::File(_)),
                "{name}"
            );
        }
        Ok(())
    }

    #[test]
    fn open_applies_the_options_to_a_file_key() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("key.pem");
        let key = hsmjwt_soft::PrivateKey::generate(hsmjwt_soft::KeySpec::P384)?;
        key.write_pkcs8_pem(&path, false)?;
        let source: KeySource = path.to_str().ok_or("path")?.parse()?;

        let signer = source.open(&OpenOptions {
            kid: Some("k1".into()),
            pool_size: Some(4),
            ..OpenOptions::default()
        })?;
        assert_eq!(signer.algorithm(), Algorithm::ES384);
        assert_eq!(signer.key_id(), Some("k1"));
        assert_eq!(signer.public_key().kid.as_deref(), Some("k1"));

        let plain = source.open_signer(None)?;
        assert_eq!(plain.key_id(), None);
        assert!(matches!(
            source.open_signer(Some(Algorithm::ES256)),
            Err(KeyError::Soft(_) | KeyError::Core(_))
        ));
        Ok(())
    }

    #[test]
    fn printing_a_key_source_never_shows_a_pin() -> Result<(), KeyError> {
        let file: KeySource = "keys/signer.pem".parse()?;
        assert_eq!(file.to_string(), "keys/signer.pem");
        #[cfg(feature = "pkcs11")]
        {
            let uri: KeySource =
                "pkcs11:token=t;object=k?pin-value=pin-4711-secret&module-path=/m.so".parse()?;
            let shown = uri.to_string();
            assert!(!shown.contains("4711"), "{shown}");
            assert!(shown.contains("pin-value=<redacted>"), "{shown}");
            assert!(!format!("{uri:?}").contains("4711"));
        }
        Ok(())
    }

    #[test]
    fn a_public_key_file_is_read_once_and_with_a_bound() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let key = hsmjwt_soft::PrivateKey::generate(hsmjwt_soft::KeySpec::P256)?;
        let jwk = key.public_jwk().with_kid("k1").with_alg(Algorithm::ES256);
        // A pipe can be read only once: a second read would wait for a writer for ever, so
        // the look-up runs on a thread the test gives up on.
        let pipe = dir.path().join("jwk");
        hsmjwt_testkit::fifo(&pipe, serde_json::to_vec(&jwk.to_map())?)?;
        let source = KeySource::File(pipe);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(source.public_key().map_err(|e| e.to_string()));
        });
        let read = rx
            .recv_timeout(std::time::Duration::from_secs(3))
            .map_err(|_| "the key file was read twice (the second read waits for ever)")??;
        assert_eq!(read, jwk, "the JWK file's own members are kept");

        // One byte over the limit, from a pipe: refused, for the public key and the signer.
        let limit = usize::try_from(hsmjwt_soft::MAX_KEY_FILE)?;
        let over = |name: &str| -> Result<KeySource, hsmjwt_testkit::Error> {
            let path = dir.path().join(name);
            hsmjwt_testkit::fifo(&path, vec![b'x'; limit + 1])?;
            Ok(KeySource::File(path))
        };
        let e = over("over-public")?.public_key();
        assert!(
            matches!(&e, Err(KeyError::Soft(hsmjwt_soft::Error::TooLarge { .. }))),
            "{e:?}"
        );
        let e = over("over-private")?.open_signer(None).err();
        assert!(
            matches!(
                &e,
                Some(KeyError::Soft(hsmjwt_soft::Error::TooLarge { .. }))
            ),
            "{e:?}"
        );
        Ok(())
    }
}

#[cfg(feature = "pkcs11")]
pub use pkcs11::{
    delete_from_token, env_access, generate_in_token, import_into_token,
    import_material_into_token, list_tokens, store_certificate_in_token,
};
#[cfg(feature = "pkcs11")]
pub(crate) use pkcs11::{env_access_asking_once, note as pin_note, probe};

/// The PKCS#11 policy of applications: the environment and the terminal.
#[cfg(feature = "pkcs11")]
mod pkcs11 {
    use std::ffi::OsString;
    use std::io::IsTerminal;
    use std::path::{Path, PathBuf};

    use hsmjwt_core::PrivateKeyMaterial;
    use hsmjwt_core::{Algorithm, Jwk};
    use hsmjwt_pkcs11::{
        BoxError, DeleteOptions, Deletion, ImportOptions, ImportedKey, Inventory, KeyObjects,
        KeyPairOptions, NotLoggedIn, PinRequest, PinSource, Pkcs11Signer, Pkcs11Uri, SignerOptions,
        StoreOptions, StoredCertificate, TokenAccess,
    };
    use hsmjwt_soft::{Certificate, PrivateKey, PublicKey, SoftVerifier};
    use secrecy::SecretString;
    use zeroize::Zeroizing;

    use super::{KeyError, MODULE_ENV, PIN_ENV};

    /// How applications reach PKCS#11 tokens when the URI does not say: the module named by
    /// `$PKCS11_MODULE` (when set and not empty), and a PIN source that gives `$HSMJWT_PIN`
    /// (when set and not empty), else asks on the terminal, only when the library may ask a
    /// human ([`PinRequest::may_prompt`]) and stdin is a terminal.
    ///
    /// The environment is read when this is called (the module) and when a PIN is needed.
    pub fn env_access() -> TokenAccess {
        TokenAccess {
            module: std::env::var_os(MODULE_ENV)
                .filter(|m| !m.is_empty())
                .map(PathBuf::from),
            pin: Some(PinSource::callback(|request: &PinRequest| {
                pin_from(
                    std::env::var_os(PIN_ENV),
                    request,
                    || std::io::stdin().is_terminal(),
                    |prompt| rpassword::prompt_password(prompt),
                )
            })),
        }
    }

    /// The PIN from the variable's value `env`, else from `prompt` when a human may be
    /// asked and `terminal` says stdin is one.
    fn pin_from(
        env: Option<OsString>,
        request: &PinRequest,
        terminal: impl FnOnce() -> bool,
        prompt: impl FnOnce(&str) -> std::io::Result<String>,
    ) -> Result<Option<SecretString>, BoxError> {
        if let Some(pin) = env {
            let pin = Zeroizing::new(pin.into_string().map_err(|_| KeyError::PinNotUtf8)?);
            if !pin.is_empty() {
                return Ok(Some(SecretString::from(pin.as_str())));
            }
        }
        if request.may_prompt && terminal() {
            let question = format!("PIN for token `{}`: ", request.token.escape_debug());
            let pin =
                Zeroizing::new(prompt(&question).map_err(|e| KeyError::PinPrompt(Box::new(e)))?);
            return Ok(Some(SecretString::from(pin.as_str())));
        }
        Ok(None)
    }

    /// Generates a key pair for `alg` in the token the URI names (see
    /// [`hsmjwt_pkcs11::generate_key_pair_with`]), reached through [`env_access`], and
    /// returns its public JWK. `rsa_bits` is 2048 (the default), 3072 or 4096, for RS* and
    /// PS* only.
    ///
    /// # Errors
    /// [`KeyError::Pkcs11`] with the library's error (a taken label or id, a bad size, the
    /// module, token and login errors), or the PIN errors of [`env_access`].
    pub fn generate_in_token(
        uri: &Pkcs11Uri,
        alg: Algorithm,
        rsa_bits: Option<usize>,
    ) -> Result<Jwk, KeyError> {
        let options = KeyPairOptions {
            rsa_bits,
            access: env_access(),
        };
        Ok(hsmjwt_pkcs11::generate_key_pair_with(uri, alg, &options)?)
    }

    /// Stores the DER certificate `der` in the token beside the private key the URI names
    /// (see [`hsmjwt_pkcs11::store_certificate`]: the key's id and label), reached through
    /// [`env_access`]; with `replace`, a certificate already there with that id is replaced.
    ///
    /// # Errors
    /// [`KeyError::Pkcs11`] with the library's error (a certificate already there, a key not
    /// found, the module, token and login errors), or the PIN errors of [`env_access`].
    pub fn store_certificate_in_token(
        uri: &Pkcs11Uri,
        der: &[u8],
        replace: bool,
    ) -> Result<StoredCertificate, KeyError> {
        let options = StoreOptions {
            replace,
            access: env_access(),
        };
        Ok(hsmjwt_pkcs11::store_certificate(uri, der, &options)?)
    }

    /// [`env_access`] whose PIN, once given (typed at the prompt or read from
    /// `$HSMJWT_PIN`), is kept for the next login of this operation: the import's and the
    /// probe's sessions do not overlap, and a human is asked once.
    pub(crate) fn env_access_asking_once() -> TokenAccess {
        let mut access = env_access();
        if let Some(PinSource::Callback(ask)) = access.pin.take() {
            let kept = std::sync::Mutex::new(None::<SecretString>);
            access.pin = Some(PinSource::callback(move |request: &PinRequest| {
                let mut kept = kept.lock().map_err(|_| "the PIN cache is poisoned")?;
                if let Some(pin) = kept.as_ref() {
                    return Ok(Some(pin.clone()));
                }
                let pin = ask(request)?;
                kept.clone_from(&pin);
                Ok(pin)
            }));
        }
        access
    }

    /// Imports the software private key `key` into the token the URI names (see
    /// [`hsmjwt_pkcs11::import_key`]: a sign-only, sensitive, not extractable private key
    /// with its public key, and `certificate` as a certificate object, all with the URI's
    /// `object` as label and its `id`, or a random one), reached through [`env_access`] (a
    /// PIN typed at the prompt serves the whole import).
    ///
    /// Before reporting success, the new HSM key signs a probe message with the key's own
    /// algorithm (RS256, ES256/384/512, EdDSA) and the signature is verified with `key`'s
    /// public half; if that fails, the objects the import created are deleted again.
    ///
    /// # Errors
    /// [`KeyError::ImportCertificateMismatch`] when `certificate` does not certify `key`;
    /// [`KeyError::Pkcs11`] with the library's error (a taken label or id, a token that
    /// refuses the import, the module, token and login errors); [`KeyError::ImportProbe`]
    /// when the probe signature fails; the PIN errors of [`env_access`].
    pub fn import_into_token(
        uri: &Pkcs11Uri,
        key: &PrivateKey,
        certificate: Option<&Certificate>,
    ) -> Result<ImportedKey, KeyError> {
        import_material_into_token(uri, &key.material()?, key.public_key(), certificate)
    }

    /// [`import_into_token`] for key material from elsewhere: `material` is imported and
    /// the probe signature is verified with `public` (and `certificate` must certify
    /// `public`), so that material whose secret and public parts do not belong together is
    /// found and removed again.
    ///
    /// # Errors
    /// As [`import_into_token`].
    pub fn import_material_into_token(
        uri: &Pkcs11Uri,
        material: &PrivateKeyMaterial,
        public: &PublicKey,
        certificate: Option<&Certificate>,
    ) -> Result<ImportedKey, KeyError> {
        if let Some(cert) = certificate
            && !cert.certifies(&public.jwk())
        {
            return Err(KeyError::ImportCertificateMismatch {
                subject: hsmjwt_core::text::clean(cert.subject(), 200),
            });
        }
        let access = env_access_asking_once();
        let mut options = ImportOptions::default().with_access(access.clone());
        if let Some(cert) = certificate {
            options = options.with_certificate(cert.der().to_vec());
        }
        let imported = hsmjwt_pkcs11::import_key(uri, material, &options)?;
        let new_key = imported.uri_from(uri);
        let alg = Algorithm::default_for(public.params().kind());
        if let Err(e) = probe(&new_key, alg, public, &access) {
            let removed = hsmjwt_pkcs11::delete_key(&new_key, &DeleteOptions { access }, |_| true)
                .is_ok_and(|d| d.deleted);
            return Err(KeyError::ImportProbe {
                removed,
                source: Box::new(e),
            });
        }
        Ok(imported)
    }

    /// Opens the HSM key `uri` for `alg`, has it sign a probe message and verifies the
    /// signature with `public`; returns the `CKM_` name of the mechanism it signed with.
    /// The import's check and each step of [`crate::doctor`].
    ///
    /// # Errors
    /// [`KeyError::Pkcs11`] when the signer does not open or does not sign (the library's
    /// error, for example `MechanismMissing`), [`KeyError::Soft`] or [`KeyError::Core`] when
    /// the signature does not verify.
    pub(crate) fn probe(
        uri: &Pkcs11Uri,
        alg: Algorithm,
        public: &PublicKey,
        access: &TokenAccess,
    ) -> Result<String, KeyError> {
        const MESSAGE: &[u8] = b"hsmjwt probe: the token signs as the key it should hold";
        let signer = Pkcs11Signer::open(
            uri,
            SignerOptions::default()
                .with_algorithm(alg)
                .with_pool_size(1)
                .with_access(access.clone()),
        )?;
        let signature = signer.try_sign(MESSAGE)?;
        let verifier = SoftVerifier::new(public, alg)?;
        hsmjwt_core::Verifier::verify(&verifier, MESSAGE, &signature)?;
        Ok(signer.mechanism())
    }

    /// Deletes a key from the token the URI names: its private key, public key and
    /// certificate objects (see [`hsmjwt_pkcs11::delete_key`]), reached through
    /// [`env_access`]. `confirm` sees the objects first; when it returns false nothing is
    /// deleted.
    ///
    /// # Errors
    /// [`KeyError::Pkcs11`] with the library's error (no key named, none or several found,
    /// the module, token and login errors, a failed `C_DestroyObject`), or the PIN errors of
    /// [`env_access`].
    pub fn delete_from_token(
        uri: &Pkcs11Uri,
        confirm: impl FnOnce(&KeyObjects) -> bool,
    ) -> Result<Deletion, KeyError> {
        let options = DeleteOptions {
            access: env_access(),
        };
        Ok(hsmjwt_pkcs11::delete_key(uri, &options, confirm)?)
    }

    /// Lists the slots, tokens and keys of a module (see [`hsmjwt_pkcs11::list`]), reached
    /// through [`env_access`]. `module`, when given, comes before the token URI's
    /// `module-path` and `$PKCS11_MODULE`.
    ///
    /// It logs in with the token URI's PIN, else `$HSMJWT_PIN`, else (with a token URI
    /// only) a prompt on a terminal. Without a token URI, `$HSMJWT_PIN` serves only a
    /// module's only token: one PIN is never tried on several tokens, where a wrong PIN
    /// counts towards locking each. The notes on tokens not logged in say how to give a
    /// PIN here (the URI's `pin-source`, or `$HSMJWT_PIN` and the token named).
    ///
    /// # Errors
    /// [`KeyError::Pkcs11`] with the library's error (no module, a wrong PIN, a failing
    /// module), or the PIN errors of [`env_access`].
    pub fn list_tokens(
        module: Option<&Path>,
        token_uri: Option<&Pkcs11Uri>,
    ) -> Result<Inventory, KeyError> {
        let mut access = env_access();
        let mut token_uri = token_uri.cloned();
        if let Some(module) = module {
            access.module = Some(module.to_owned());
            token_uri = token_uri.map(|uri| uri.with_module_path(module));
        }
        let mut inventory = hsmjwt_pkcs11::list(token_uri.as_ref(), &access)?;
        for token in inventory.slots.iter_mut().filter_map(|s| s.token.as_mut()) {
            if let Some(note) = token.not_logged_in.and_then(note) {
                token.note = Some(note.to_owned());
            }
        }
        Ok(inventory)
    }

    /// How to give the PIN that a listing lacked, in this policy's terms.
    pub(crate) fn note(why: NotLoggedIn) -> Option<&'static str> {
        match why {
            NotLoggedIn::NoPin => Some(
                "not logged in, so private keys are not shown: add pin-source to the token URI, or set HSMJWT_PIN",
            ),
            NotLoggedIn::NotNamed => Some(
                "not logged in, so private keys are not shown: name this token with a URI that has pin-source (or set HSMJWT_PIN and name it)",
            ),
            _ => None,
        }
    }

    #[cfg(test)]
    mod tests {
        use std::cell::Cell;

        use secrecy::ExposeSecret;

        use super::*;

        fn run(
            env: Option<&str>,
            may_prompt: bool,
            terminal: bool,
        ) -> (Result<Option<String>, String>, bool) {
            let prompted = Cell::new(false);
            let pin = pin_from(
                env.map(OsString::from),
                &PinRequest::new("tok", may_prompt),
                || terminal,
                |question| {
                    prompted.set(true);
                    assert_eq!(question, "PIN for token `tok`: ");
                    Ok("typed".to_owned())
                },
            )
            .map(|p| p.map(|p| p.expose_secret().to_owned()))
            .map_err(|e| e.to_string());
            (pin, prompted.get())
        }

        #[test]
        fn the_variable_then_a_prompt_only_when_allowed_and_on_a_terminal() {
            let some = |s: &str| Ok(Some(s.to_owned()));
            assert_eq!(run(Some("1234"), true, true), (some("1234"), false));
            assert_eq!(run(Some("1234"), false, false), (some("1234"), false));
            assert_eq!(run(Some(""), true, true), (some("typed"), true));
            assert_eq!(run(None, true, true), (some("typed"), true));
            assert_eq!(run(None, false, true), (Ok(None), false));
            assert_eq!(run(None, true, false), (Ok(None), false));
        }

        #[test]
        fn a_failing_prompt_or_a_bad_variable_is_an_error() {
            let request = PinRequest::new("tok", true);
            let e = pin_from(
                None,
                &request,
                || true,
                |_| Err(std::io::Error::other("no tty")),
            )
            .err()
            .map(|e| e.to_string());
            assert_eq!(e.as_deref(), Some("cannot read the PIN from the terminal"));
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStringExt;
                let bad = OsString::from_vec(vec![0xff]);
                let e = pin_from(Some(bad), &request, || false, |_| Ok(String::new()))
                    .err()
                    .map(|e| e.to_string());
                assert_eq!(e.as_deref(), Some("HSMJWT_PIN is not UTF-8"));
            }
        }

        #[test]
        fn list_notes_name_this_policy() {
            for why in [NotLoggedIn::NoPin, NotLoggedIn::NotNamed] {
                assert!(note(why).is_some_and(|n| n.contains(PIN_ENV)), "{why:?}");
                assert!(!why.note().contains(PIN_ENV), "the library's own note");
            }
            assert_eq!(note(NotLoggedIn::PinLocked), None);
        }
    }
}
