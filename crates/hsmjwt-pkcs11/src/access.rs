//! How a token is reached when the URI does not say: the module to load and where the user
//! PIN comes from ([`TokenAccess`], [`PinSource`]).
//!
//! The library reads no environment variable and never prompts: an application that wants
//! `$PKCS11_MODULE`, a PIN variable or a terminal prompt says so here (the `hsmjwt` facade's
//! `key` module does, for the `hsmjwt` command).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{BoxError, Error, Result};
use crate::uri::Pkcs11Uri;

/// An application's function that supplies a PIN: `Ok(None)` when it has none.
pub type PinCallback =
    Arc<dyn Fn(&PinRequest) -> Result<Option<SecretString>, BoxError> + Send + Sync>;

/// Where the user PIN comes from when the URI has neither `pin-value` nor `pin-source`.
///
/// A PIN is looked for only when a login is needed, in this order: the URI's `pin-value`,
/// the file named by the URI's `pin-source` (both explicit, RFC 7512), then this source.
/// A PIN the token rejects is never tried again.
///
/// `Debug` shows the kind of source and a file's path, never a PIN.
#[derive(Clone)]
#[non_exhaustive]
pub enum PinSource {
    /// The PIN itself.
    Value(SecretString),
    /// A file holding the PIN (one trailing newline, `\n` or `\r\n`, is not part of it).
    File(PathBuf),
    /// A function asked for the PIN, told by the [`PinRequest`] whether a human may be
    /// asked now.
    Callback(PinCallback),
}

impl PinSource {
    /// The PIN itself.
    pub fn value(pin: impl Into<SecretString>) -> Self {
        PinSource::Value(pin.into())
    }

    /// A file holding the PIN.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        PinSource::File(path.into())
    }

    /// A function that supplies the PIN (`Ok(None)` when it has none). An error it returns
    /// becomes [`Error::PinCallback`].
    pub fn callback<F>(f: F) -> Self
    where
        F: Fn(&PinRequest) -> Result<Option<SecretString>, BoxError> + Send + Sync + 'static,
    {
        PinSource::Callback(Arc::new(f))
    }
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinSource::Value(_) => f.write_str("Value(<redacted>)"),
            PinSource::File(path) => f.debug_tuple("File").field(path).finish(),
            PinSource::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// What a [`PinSource::Callback`] is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinRequest {
    /// The label of the token the PIN is for.
    pub token: String,
    /// Whether a human may be asked now (a prompt is fine): the library is about to log in
    /// and will wait. When `false`, give a PIN only if you have one at hand without asking:
    /// the session is already logged in and the PIN is only kept for logging in again after
    /// a lost session, or it is a listing's fallback PIN for a module's only token.
    pub may_prompt: bool,
}

impl PinRequest {
    /// A request for the PIN of `token`.
    pub fn new(token: impl Into<String>, may_prompt: bool) -> Self {
        PinRequest {
            token: token.into(),
            may_prompt,
        }
    }
}

/// How to reach a token when the URI does not say: the module to load and the PIN source.
///
/// The URI's own `module-path`, `pin-value` and `pin-source` come first; these fill in what
/// it leaves out. By default there is neither: the URI must name the module, and a token
/// that needs a login must get its PIN from the URI.
#[derive(Debug, Clone, Default)]
pub struct TokenAccess {
    /// The PKCS#11 module, when the URI has no `module-path`.
    pub module: Option<PathBuf>,
    /// The user PIN, when the URI has no `pin-value` or `pin-source`.
    pub pin: Option<PinSource>,
}

impl TokenAccess {
    /// Neither a module nor a PIN source.
    pub fn new() -> Self {
        TokenAccess::default()
    }

    /// Sets the module used when the URI has no `module-path`.
    #[must_use]
    pub fn with_module(mut self, module: impl Into<PathBuf>) -> Self {
        self.module = Some(module.into());
        self
    }

    /// Sets the PIN source used when the URI has no `pin-value` or `pin-source`.
    #[must_use]
    pub fn with_pin_source(mut self, pin: PinSource) -> Self {
        self.pin = Some(pin);
        self
    }

    /// The module to load: the URI's `module-path`, else [`TokenAccess::module`].
    pub(crate) fn module_for<'a>(&'a self, uri: Option<&'a Pkcs11Uri>) -> Result<&'a Path> {
        uri.and_then(Pkcs11Uri::module_path)
            .or(self.module.as_deref())
            .ok_or(Error::NoModule)
    }

    /// The user PIN for `token`: the URI's `pin-value`, else the file its `pin-source` names,
    /// else [`TokenAccess::pin`]. `None` when none gives one.
    pub(crate) fn pin_for(
        &self,
        uri: &Pkcs11Uri,
        token: &str,
        may_prompt: bool,
    ) -> Result<Option<SecretString>> {
        if let Some(pin) = uri.pin_value() {
            return Ok(Some(pin.clone()));
        }
        if let Some(path) = uri.pin_source() {
            return read_pin_file(path).map(Some);
        }
        match &self.pin {
            None => Ok(None),
            Some(PinSource::Value(pin)) => Ok(Some(pin.clone())),
            Some(PinSource::File(path)) => read_pin_file(path).map(Some),
            Some(PinSource::Callback(callback)) => callback(&PinRequest::new(token, may_prompt))
                .map_err(|source| Error::PinCallback {
                    token: token.to_owned(),
                    source,
                }),
        }
    }
}

/// Largest PIN file read: 4 KiB (a PIN is a few bytes; a longer file is not a PIN file). The
/// bound holds while reading, so a pipe or a device such as `/dev/zero` cannot make the
/// library read more.
pub const MAX_PIN_FILE: u64 = 4096;

/// The PIN in a file of at most [`MAX_PIN_FILE`] bytes, without one trailing `\n` or
/// `\r\n`. A regular file that others may read or write draws a warning.
fn read_pin_file(path: &Path) -> Result<SecretString> {
    let fail = |source: BoxError| Error::PinSource {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(Box::new(e)))?;
    warn_if_others_may_read(path, &file);
    // Room for one byte past the limit, so the buffer never grows (a grown buffer would
    // leave an unwiped copy of the PIN behind).
    let room = usize::try_from(MAX_PIN_FILE + 1).unwrap_or(usize::MAX);
    let mut bytes = Zeroizing::new(Vec::with_capacity(room));
    file.take(MAX_PIN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(Box::new(e)))?;
    if bytes.len() as u64 > MAX_PIN_FILE {
        return Err(Error::PinFileTooLarge {
            path: path.to_owned(),
            limit: MAX_PIN_FILE,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| fail(Box::new(e)))?;
    let pin = text.strip_suffix('\n').unwrap_or(text);
    let pin = pin.strip_suffix('\r').unwrap_or(pin);
    Ok(SecretString::from(pin))
}

/// Warns (through `tracing`) when the PIN file is a regular file that users other than its
/// owner may read or write.
fn warn_if_others_may_read(path: &Path, file: &std::fs::File) {
    if let Some(mode) = loose_mode(file) {
        tracing::warn!(
            "PIN file `{}` may be read by other users (mode {mode:04o}); restrict it with `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

/// The permission bits of a regular file that users other than its owner may access
/// (`mode & 0o077` set); `None` for a private file, a pipe or a device, and off Unix.
fn loose_mode(file: &std::fs::File) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().ok()?;
        let mode = meta.permissions().mode() & 0o7777;
        (meta.is_file() && mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use secrecy::ExposeSecret;

    use super::*;

    fn exposed(pin: Option<SecretString>) -> Option<String> {
        pin.map(|p| p.expose_secret().to_owned())
    }

    #[test]
    fn pin_order_uri_value_uri_file_then_the_options() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let uri_file = dir.path().join("uri-pin");
        let options_file = dir.path().join("options-pin");
        std::fs::write(&uri_file, "from-uri-file\r\n")
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        std::fs::write(&options_file, "from-options-file\n")
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;

        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let callback = PinSource::callback(move |r: &PinRequest| {
            log.lock().map_err(|e| e.to_string())?.push(r.clone());
            Ok(Some(SecretString::from("from-callback")))
        });
        let sources = [
            PinSource::value("from-options-value"),
            PinSource::file(&options_file),
            callback,
        ];
        let bare = Pkcs11Uri::new().with_token("t");
        let with_value = bare.clone().with_pin_value("from-uri-value".into());
        let with_file = bare.clone().with_pin_source(&uri_file);

        for source in &sources {
            let access = TokenAccess::new().with_pin_source(source.clone());
            // The URI's PIN comes first, whatever the options say.
            assert_eq!(
                exposed(access.pin_for(&with_value, "t", true)?).as_deref(),
                Some("from-uri-value")
            );
            assert_eq!(
                exposed(access.pin_for(&with_file, "t", true)?).as_deref(),
                Some("from-uri-file")
            );
        }
        assert!(asked.lock().is_ok_and(|a| a.is_empty()), "not asked");

        // Then the options' source: a value, a file, a callback.
        let from = |source: &PinSource, may_prompt| {
            TokenAccess::new()
                .with_pin_source(source.clone())
                .pin_for(&bare, "t", may_prompt)
                .map(exposed)
        };
        assert_eq!(
            from(&sources[0], true)?.as_deref(),
            Some("from-options-value")
        );
        assert_eq!(
            from(&sources[1], true)?.as_deref(),
            Some("from-options-file")
        );
        assert_eq!(from(&sources[2], false)?.as_deref(), Some("from-callback"));
        assert_eq!(
            asked.lock().map(|a| a.clone()).unwrap_or_default(),
            vec![PinRequest::new("t", false)]
        );
        // Nothing at all.
        assert!(TokenAccess::new().pin_for(&bare, "t", true)?.is_none());
        Ok(())
    }

    #[test]
    fn pin_source_failures_name_the_file_or_the_token() {
        let missing = TokenAccess::new().with_pin_source(PinSource::file("/nonexistent/pin"));
        let e = missing.pin_for(&Pkcs11Uri::new(), "t", true);
        assert!(
            matches!(&e, Err(Error::PinSource { path, .. }) if path == Path::new("/nonexistent/pin")),
            "{e:?}"
        );
        let failing = TokenAccess::new()
            .with_pin_source(PinSource::callback(|_: &PinRequest| Err("no agent".into())));
        match failing.pin_for(&Pkcs11Uri::new(), "tok", true) {
            Err(e @ Error::PinCallback { .. }) => {
                assert_eq!(e.to_string(), "cannot get the PIN for token `tok`");
                assert_eq!(
                    std::error::Error::source(&e).map(ToString::to_string),
                    Some("no agent".to_owned())
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pin_files_are_read_with_a_bound_even_from_a_pipe() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let pin_of = |path: &Path| {
            TokenAccess::new()
                .with_pin_source(PinSource::file(path))
                .pin_for(&Pkcs11Uri::new(), "t", true)
                .map(exposed)
        };
        let limit = usize::try_from(MAX_PIN_FILE)?;
        // Exactly the limit (a trailing newline included) is a PIN.
        let exact = dir.path().join("exact");
        hsmjwt_testkit::fifo(&exact, [vec![b'7'; limit - 1], b"\n".to_vec()].concat())?;
        assert_eq!(pin_of(&exact)?.map(|p| p.len()), Some(limit - 1));
        // One byte more is refused, naming the file and the limit, from a pipe or a file.
        let over = dir.path().join("over");
        hsmjwt_testkit::fifo(&over, vec![b'7'; limit + 1])?;
        let regular = dir.path().join("regular");
        std::fs::write(&regular, vec![b'7'; limit + 100])?;
        for path in [over, regular] {
            match pin_of(&path) {
                Err(e @ Error::PinFileTooLarge { .. }) => assert_eq!(
                    e.to_string(),
                    format!(
                        "PIN file `{}` is larger than the 4 KiB limit for PIN files",
                        path.display()
                    )
                ),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn pin_files_others_may_read_are_told_apart() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pin");
        std::fs::write(&path, "1234")?;
        for (mode, loose) in [
            (0o600, None),
            (0o400, None),
            (0o644, Some(0o644)),
            (0o640, Some(0o640)),
            (0o602, Some(0o602)),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
            assert_eq!(loose_mode(&std::fs::File::open(&path)?), loose, "{mode:o}");
        }
        // Devices and pipes are not PIN files someone forgot to protect.
        assert_eq!(loose_mode(&std::fs::File::open("/dev/null")?), None);
        Ok(())
    }

    #[test]
    fn debug_never_shows_the_pin() {
        let access = TokenAccess::new()
            .with_module("/m.so")
            .with_pin_source(PinSource::value("s3cret"));
        let debug = format!("{access:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("<redacted>"),
            "{debug}"
        );
        assert_eq!(format!("{:?}", PinSource::file("/p")), "File(\"/p\")");
    }

    #[test]
    fn module_from_the_uri_then_the_options() {
        let access = TokenAccess::new().with_module("/options.so");
        let uri = Pkcs11Uri::new().with_module_path("/uri.so");
        assert_eq!(
            access.module_for(Some(&uri)).ok(),
            Some(Path::new("/uri.so"))
        );
        assert_eq!(
            access.module_for(Some(&Pkcs11Uri::new())).ok(),
            Some(Path::new("/options.so"))
        );
        assert_eq!(access.module_for(None).ok(), Some(Path::new("/options.so")));
        assert!(matches!(
            TokenAccess::new().module_for(None),
            Err(Error::NoModule)
        ));
    }
}
