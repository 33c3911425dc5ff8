//! The fixture: what to make ([`Builder`]) and what was made ([`SoftHsm`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::{ExposeSecret as _, SecretString};

use super::{Installation, PIN, PKCS11_TOOL, Rerun, SO_PIN, SOFTHSM2_UTIL, on_path, rerun};
use crate::Error;
use crate::error::BoxError;

/// The configuration file in the fixture's folder.
const CONF: &str = "softhsm2.conf";
/// The token folder in the fixture's folder.
const TOKENS: &str = "tokens";
/// The name prefix of temporary fixture folders unless [`Builder::prefix`] says otherwise.
const DEFAULT_PREFIX: &str = "hsmjwt-softhsm-";

/// A key pair for `pkcs11-tool --keypairgen`.
#[derive(Clone, Debug)]
struct ToolKey {
    token: String,
    label: String,
    id: String,
    key_type: String,
}

/// What a [`SoftHsm`] fixture is made of: where, which tokens, which PINs, which keys made by
/// `pkcs11-tool`.
///
/// Made with [`Builder::new`] (or [`SoftHsm::builder`]); [`build`](Self::build) makes it,
/// [`attach`](Self::attach) finds it again in a re-run child.
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    installation: Installation,
    /// Keep mode: this folder, never removed.
    kept: Option<PathBuf>,
    /// Where the temporary folder goes; the system's temporary folder when `None`.
    parent: Option<PathBuf>,
    prefix: String,
    tokens: Vec<String>,
    keys: Vec<ToolKey>,
    pin: SecretString,
    so_pin: SecretString,
}

impl Builder {
    /// A fixture on `installation`: a temporary folder, no token yet, the PINs [`PIN`] and
    /// [`SO_PIN`].
    pub fn new(installation: Installation) -> Self {
        Self {
            installation,
            kept: None,
            parent: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            tokens: Vec::new(),
            keys: Vec::new(),
            pin: SecretString::from(PIN),
            so_pin: SecretString::from(SO_PIN),
        }
    }

    /// A token labelled `label` (1 to 32 bytes), initialized with `softhsm2-util --init-token
    /// --free`. SoftHSM gives it a random slot number: find it by its label.
    pub fn token(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if !self.tokens.contains(&label) {
            self.tokens.push(label);
        }
        self
    }

    /// Several [`token`](Self::token)s.
    pub fn tokens<I, S>(self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        labels.into_iter().fold(self, Self::token)
    }

    /// A key pair made on `token` by `pkcs11-tool --keypairgen --key-type KEY_TYPE --id ID
    /// --label LABEL`: `id` in hex (`"01"`), `key_type` in pkcs11-tool's words
    /// (`"rsa:2048"`, `"EC:prime256v1"`, `"EC:secp384r1"`). In a [kept](Self::dir) folder,
    /// a private key with that label already on the token is left as it is.
    pub fn key(
        mut self,
        token: impl Into<String>,
        label: impl Into<String>,
        id: impl Into<String>,
        key_type: impl Into<String>,
    ) -> Self {
        self.keys.push(ToolKey {
            token: token.into(),
            label: label.into(),
            id: id.into(),
            key_type: key_type.into(),
        });
        self
    }

    /// The user PIN of the tokens (4 to 255 bytes); [`PIN`] by default.
    pub fn pin(mut self, pin: impl Into<String>) -> Self {
        self.pin = SecretString::from(pin.into());
        self
    }

    /// The security officer PIN of the tokens (4 to 255 bytes); [`SO_PIN`] by default.
    pub fn so_pin(mut self, so_pin: impl Into<String>) -> Self {
        self.so_pin = SecretString::from(so_pin.into());
        self
    }

    /// The name prefix of the temporary folder (`hsmjwt-softhsm-` by default); not used in
    /// [keep mode](Self::dir).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Makes the temporary folder inside `parent` instead of the system's temporary folder
    /// (for example `env!("CARGO_TARGET_TMPDIR")`); it is still removed on drop. Not used in
    /// [keep mode](Self::dir).
    pub fn temp_in(mut self, parent: impl Into<PathBuf>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// Keep mode: the fixture lives in `dir` (made when missing) and is never removed. Built
    /// again on the same folder, it keeps the tokens already there, with their PINs
    /// ([`SoftHsm::reused_tokens`] names them), and their keys.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.kept = Some(dir.into());
        self
    }

    /// The labels and PINs are in SoftHSM's ranges and every key's token is asked for.
    fn validate(&self) -> Result<(), Error> {
        if let Some(label) = self.tokens.iter().find(|l| l.is_empty() || l.len() > 32) {
            return Err(Error::InvalidOption(format!(
                "the token label `{label}` is not 1 to 32 bytes long"
            )));
        }
        for pin in [&self.pin, &self.so_pin] {
            if !(4..=255).contains(&pin.expose_secret().len()) {
                return Err(Error::InvalidOption(
                    "SoftHSM PINs are 4 to 255 bytes long".to_owned(),
                ));
            }
        }
        match self.keys.iter().find(|k| !self.tokens.contains(&k.token)) {
            Some(key) => Err(Error::NoSuchToken(key.token.clone())),
            None => Ok(()),
        }
    }

    /// Makes the fixture: the folder (0700) with `softhsm2.conf` (0600) pointing SoftHSM at
    /// its `tokens` folder, every token (checked afterwards by label), every `pkcs11-tool`
    /// key. Everything runs in other processes with `SOFTHSM2_CONF` set; this process's
    /// environment is not touched.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a label or PIN out of range, [`Error::NotInstalled`],
    /// [`Error::Io`] when the folder or the configuration cannot be written,
    /// [`Error::Spawn`] or [`Error::Tool`] when `softhsm2-util` or `pkcs11-tool` fails,
    /// [`Error::NoSuchToken`] when a key names a token not asked for, or a token is not
    /// listed after its initialization. A temporary folder is removed on error.
    pub fn build(&self) -> Result<SoftHsm, Error> {
        self.validate()?;
        let mut missing = self.installation.softhsm_missing();
        if !self.keys.is_empty() && !on_path(PKCS11_TOOL) {
            missing.push(PKCS11_TOOL.to_owned());
        }
        if !missing.is_empty() {
            return Err(Error::NotInstalled { missing });
        }
        let (root, temp) = match &self.kept {
            Some(dir) => {
                private_folder(dir)?;
                (dir.clone(), None)
            }
            None => {
                let mut builder = tempfile::Builder::new();
                builder.prefix(&self.prefix);
                #[cfg(unix)]
                builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
                let parent = self.parent.clone().unwrap_or_else(std::env::temp_dir);
                let temp = builder
                    .tempdir_in(&parent)
                    .map_err(|e| Error::io("create a temporary folder in", parent, e))?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let mut hsm = SoftHsm {
            module: self.installation.module().to_owned(),
            conf: root.join(CONF),
            root,
            tokens: self.tokens.clone(),
            reused: Vec::new(),
            pin: self.pin.clone(),
            so_pin: self.so_pin.clone(),
            temp,
        };
        let tokens = hsm.root.join(TOKENS);
        private_folder(&tokens)?;
        let conf = format!(
            "# SoftHSM2 configuration written by hsmjwt-testkit.\n\
             directories.tokendir = {}\n\
             objectstore.backend = file\n\
             log.level = ERROR\n\
             slots.removable = false\n",
            tokens.display()
        );
        private_file(&hsm.conf, &conf)?;

        let present = if hsm.temp.is_some() {
            Vec::new()
        } else {
            hsm.token_labels()?
        };
        for label in &self.tokens {
            if present.contains(label) {
                hsm.reused.push(label.clone());
            } else {
                hsm.init_token(label)?;
            }
        }
        let listed = hsm.token_labels()?;
        if let Some(label) = self.tokens.iter().find(|l| !listed.contains(l)) {
            return Err(Error::NoSuchToken(label.clone()));
        }
        for key in &self.keys {
            if hsm.reused.contains(&key.token) && hsm.has_private_key(&key.token, &key.label)? {
                continue;
            }
            hsm.keypairgen(&key.token, &key.label, &key.id, &key.key_type)?;
        }
        Ok(hsm)
    }

    /// In a child run by [`SoftHsm::rerun`]: the fixture its parent built, with this
    /// builder's tokens and PINs; it owns nothing and removes nothing. `None` in any other
    /// process (a process that its parent did not re-run, including a child's children).
    ///
    /// # Errors
    /// [`Error::WrongEnvironment`] when this process is such a child but `SOFTHSM2_CONF` is
    /// not set.
    pub fn attach(&self) -> Result<Option<SoftHsm>, Error> {
        let Some(conf) = rerun::child_conf()? else {
            return Ok(None);
        };
        Ok(Some(SoftHsm {
            module: self.installation.module().to_owned(),
            root: conf.parent().map(Path::to_owned).unwrap_or_default(),
            conf,
            tokens: self.tokens.clone(),
            reused: Vec::new(),
            pin: self.pin.clone(),
            so_pin: self.so_pin.clone(),
            temp: None,
        }))
    }

    /// Both halves of a SoftHSM test process: in a re-run child, [`attach`](Self::attach)es
    /// and returns the fixture; otherwise [`build`](Self::build)s it, re-runs this executable
    /// as `rerun` says, removes the folder and exits with the child's status
    /// ([`SoftHsm::rerun_and_exit`]), never returning.
    ///
    /// # Errors
    /// Those of [`build`](Self::build) and [`attach`](Self::attach).
    pub fn build_in_child(&self, rerun: &Rerun) -> Result<SoftHsm, Error> {
        if let Some(hsm) = self.attach()? {
            return Ok(hsm);
        }
        self.build()?.rerun_and_exit(rerun)
    }

    /// One test with the fixture in a child process (SoftHSM2 reads `SOFTHSM2_CONF` once, at
    /// `C_Initialize`): in the re-run child, [`attach`](Self::attach)es and calls `child`
    /// with the fixture; in the test's own process, [`build`](Self::build)s it and runs the
    /// test `test` alone again ([`Rerun::one_test`], without `HSMJWT_PIN`, and as `how`
    /// adds, given the fixture: a variable may name its module), waits for it and removes
    /// the folder.
    ///
    /// # Errors
    /// Those of [`build`](Self::build) and [`attach`](Self::attach), [`Error::Spawn`] when
    /// the child cannot be run, and [`Error::Tool`] when it fails (its output is the
    /// test's).
    pub fn run_in_child(
        &self,
        test: &str,
        how: impl FnOnce(&SoftHsm, Rerun) -> Rerun,
        child: impl FnOnce(&SoftHsm),
    ) -> Result<(), Error> {
        if let Some(hsm) = self.attach()? {
            child(&hsm);
            return Ok(());
        }
        let hsm = self.build()?;
        let rerun = how(&hsm, Rerun::one_test(test).env_remove("HSMJWT_PIN"));
        let status = hsm.rerun(&rerun)?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Tool {
                command: format!("the test `{test}` in a SoftHSM2 child"),
                status,
                stderr: "its output is above".to_owned(),
            })
        }
    }
}

/// Whether `pkcs11-tool` logs in to the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// `--login --pin PIN`, with the fixture's user PIN: private objects are visible.
    User,
    /// No login: only public objects. SoftHSM rewrites a token's file at every login, and
    /// another process reading that token in the same instant can fail; reading without a
    /// login does not disturb others.
    No,
}

/// What [`SoftHsm::generate_key`] hands to the caller's key generation: where the key goes.
#[derive(Debug)]
pub struct KeyRequest<'a> {
    module: &'a Path,
    token: &'a str,
    label: &'a str,
    pin: &'a SecretString,
}

impl KeyRequest<'_> {
    /// The SoftHSM2 module.
    #[must_use]
    pub fn module(&self) -> &Path {
        self.module
    }

    /// The token's label.
    #[must_use]
    pub fn token(&self) -> &str {
        self.token
    }

    /// The label the key must get.
    #[must_use]
    pub fn label(&self) -> &str {
        self.label
    }

    /// The token's user PIN.
    #[must_use]
    pub fn pin(&self) -> &SecretString {
        self.pin
    }
}

/// A SoftHSM2 token folder with its configuration, tokens and keys. A temporary one is
/// removed when dropped (or by [`close`](Self::close)); see the [module
/// documentation](super) for the parent and child processes.
#[derive(Debug)]
pub struct SoftHsm {
    module: PathBuf,
    root: PathBuf,
    conf: PathBuf,
    tokens: Vec<String>,
    reused: Vec<String>,
    pin: SecretString,
    so_pin: SecretString,
    temp: Option<tempfile::TempDir>,
}

impl SoftHsm {
    /// A [`Builder`] on [`Installation::detect`].
    pub fn builder() -> Builder {
        Builder::new(Installation::detect())
    }

    /// The SoftHSM2 PKCS#11 module.
    #[must_use]
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The fixture's folder: `softhsm2.conf` and `tokens/`; files of the test may go
    /// there too.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration file, for `SOFTHSM2_CONF`.
    #[must_use]
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The labels of the fixture's tokens.
    #[must_use]
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The tokens a [kept](Builder::dir) folder held already, left as they were (their PINs
    /// may differ from this fixture's).
    #[must_use]
    pub fn reused_tokens(&self) -> &[String] {
        &self.reused
    }

    /// The tokens' user PIN.
    #[must_use]
    pub fn pin(&self) -> &SecretString {
        &self.pin
    }

    /// Writes the user PIN to `path` (mode 0600), for a `pin-source` that reads a file;
    /// returns `path`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written or its mode set.
    pub fn write_pin_file(&self, path: &Path) -> Result<PathBuf, Error> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(path, self.pin.expose_secret()).map_err(|e| Error::io("write", path, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("set the mode of", path, e))?;
        Ok(path.to_owned())
    }

    /// The environment of a process that uses the tokens: `SOFTHSM2_CONF` (read by
    /// SoftHSM) and `PKCS11_MODULE` (read by the `hsmjwt` CLI).
    #[must_use]
    pub fn env(&self) -> [(&'static str, &OsStr); 2] {
        [
            ("SOFTHSM2_CONF", self.conf.as_os_str()),
            ("PKCS11_MODULE", self.module.as_os_str()),
        ]
    }

    /// Sets [`env`](Self::env) on `cmd`.
    pub fn apply_env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.envs(self.env())
    }

    /// Whether this process runs with the fixture's `SOFTHSM2_CONF`, so that a module it
    /// loads sees the tokens: true in a re-run child.
    #[must_use]
    pub fn env_is_set(&self) -> bool {
        std::env::var_os("SOFTHSM2_CONF").is_some_and(|c| Path::new(&c) == self.conf)
    }

    /// The labels of the initialized tokens in the folder (`softhsm2-util --show-slots`).
    ///
    /// # Errors
    /// [`Error::Spawn`] or [`Error::Tool`] when `softhsm2-util` fails.
    pub fn token_labels(&self) -> Result<Vec<String>, Error> {
        let mut cmd = Command::new(SOFTHSM2_UTIL);
        cmd.arg("--show-slots");
        let out = self.run(cmd, format!("{SOFTHSM2_UTIL} --show-slots"))?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Label:"))
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }

    /// `softhsm2-util --init-token --free --label LABEL` with the fixture's PINs.
    fn init_token(&self, label: &str) -> Result<(), Error> {
        let mut cmd = Command::new(SOFTHSM2_UTIL);
        cmd.args(["--init-token", "--free", "--label", label])
            .arg("--so-pin")
            .arg(self.so_pin.expose_secret())
            .arg("--pin")
            .arg(self.pin.expose_secret());
        self.run(
            cmd,
            format!("{SOFTHSM2_UTIL} --init-token --free --label {label}"),
        )
        .map(drop)
    }

    /// Makes a key pair on `token` with `pkcs11-tool --keypairgen` (see [`Builder::key`]).
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] for a token not in the fixture; [`Error::Spawn`] or
    /// [`Error::Tool`] when `pkcs11-tool` fails (for example on an unknown key type).
    pub fn keypairgen(
        &self,
        token: &str,
        label: &str,
        id: &str,
        key_type: &str,
    ) -> Result<(), Error> {
        self.pkcs11_tool(
            token,
            Login::User,
            &[
                "--keypairgen",
                "--key-type",
                key_type,
                "--id",
                id,
                "--label",
                label,
            ],
        )
        .map(drop)
    }

    /// Makes an RSA 2048-bit key and a self-signed X.509 certificate for it (valid 30
    /// days, subject `CN=label`) with `openssl` in the fixture's folder, and writes the
    /// private key, its public key and the certificate to `token` as objects labelled
    /// `label` with id `id` (hex), as `pkcs11-tool --write-object` does: a key pair with its
    /// certificate, as a CA would have issued it for an imported key. The private key file
    /// is removed; returns the certificate file (PEM).
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] for a token not in the fixture; [`Error::Spawn`] or
    /// [`Error::Tool`] when `openssl` or `pkcs11-tool` fails; [`Error::Io`] when the key
    /// file cannot be removed.
    pub fn import_key_with_certificate(
        &self,
        token: &str,
        label: &str,
        id: &str,
    ) -> Result<PathBuf, Error> {
        self.known(token)?;
        let file = |what: &str| self.root.join(format!("{label}.{id}.{what}.pem"));
        let (key, public, cert) = (file("key"), file("public"), file("cert"));
        let openssl = |args: &[&OsStr]| {
            let mut cmd = Command::new("openssl");
            cmd.args(args);
            let shown = format!(
                "openssl {}",
                args.iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            self.run(cmd, shown)
        };
        let os = |s: &'static str| OsStr::new(s);
        openssl(&[
            os("genpkey"),
            os("-algorithm"),
            os("RSA"),
            os("-pkeyopt"),
            os("rsa_keygen_bits:2048"),
            os("-out"),
            key.as_os_str(),
        ])?;
        openssl(&[
            os("pkey"),
            os("-in"),
            key.as_os_str(),
            os("-pubout"),
            os("-out"),
            public.as_os_str(),
        ])?;
        let subject = format!("/CN={label}");
        openssl(&[
            os("req"),
            os("-x509"),
            os("-key"),
            key.as_os_str(),
            os("-out"),
            cert.as_os_str(),
            os("-subj"),
            OsStr::new(&subject),
            os("-days"),
            os("30"),
        ])?;
        let written = [(&key, "privkey"), (&public, "pubkey"), (&cert, "cert")]
            .into_iter()
            .try_for_each(|(path, kind)| {
                let path = path.to_string_lossy();
                let args = [
                    "--write-object",
                    &path,
                    "--type",
                    kind,
                    "--id",
                    id,
                    "--label",
                    label,
                ];
                self.pkcs11_tool(token, Login::User, &args).map(drop)
            });
        let removed = std::fs::remove_file(&key).map_err(|e| Error::io("remove", &key, e));
        written.and(removed).map(|()| cert)
    }

    /// Whether `token` holds a private key labelled `label`.
    fn has_private_key(&self, token: &str, label: &str) -> Result<bool, Error> {
        let listed =
            self.pkcs11_tool(token, Login::User, &["--list-objects", "--type", "privkey"])?;
        Ok(String::from_utf8_lossy(&listed)
            .lines()
            .any(|l| l.trim().strip_prefix("label:").map(str::trim) == Some(label)))
    }

    /// Runs `pkcs11-tool --module MODULE --token-label TOKEN [--login --pin PIN] ARGS` with
    /// the fixture's environment and stdin closed; returns its stdout.
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] for a token not in the fixture; [`Error::Spawn`] or
    /// [`Error::Tool`] (with its stderr) when `pkcs11-tool` fails.
    pub fn pkcs11_tool(&self, token: &str, login: Login, args: &[&str]) -> Result<Vec<u8>, Error> {
        self.known(token)?;
        let mut cmd = Command::new(PKCS11_TOOL);
        cmd.arg("--module")
            .arg(&self.module)
            .args(["--token-label", token]);
        if login == Login::User {
            cmd.args(["--login", "--pin"]).arg(self.pin.expose_secret());
        }
        cmd.args(args);
        let shown = format!(
            "{PKCS11_TOOL} --token-label {token}{} {}",
            if login == Login::User { " --login" } else { "" },
            args.join(" ")
        );
        self.run(cmd, shown)
    }

    /// Makes a key pair with the caller's own code (for example
    /// `hsmjwt_pkcs11::generate_key_pair`) in this process, which must run with the
    /// fixture's environment (a re-run child): `generate` gets the module, token, label
    /// and PIN.
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] for a token not in the fixture, [`Error::WrongEnvironment`]
    /// when this process does not have the fixture's `SOFTHSM2_CONF` (the key would go to
    /// another token store), [`Error::KeyGeneration`] with what `generate` returned.
    pub fn generate_key<T, E>(
        &self,
        token: &str,
        label: &str,
        generate: impl FnOnce(&KeyRequest<'_>) -> Result<T, E>,
    ) -> Result<T, Error>
    where
        E: Into<BoxError>,
    {
        self.known(token)?;
        if !self.env_is_set() {
            return Err(Error::WrongEnvironment {
                conf: Some(self.conf.clone()),
            });
        }
        let request = KeyRequest {
            module: &self.module,
            token,
            label,
            pin: &self.pin,
        };
        generate(&request).map_err(|e| Error::KeyGeneration {
            token: token.to_owned(),
            label: label.to_owned(),
            source: e.into(),
        })
    }

    /// Turns a temporary fixture into a kept one: the folder stays after the drop. Returns
    /// the folder.
    #[must_use = "the folder is no longer removed: keep its path"]
    pub fn keep(mut self) -> PathBuf {
        match self.temp.take() {
            Some(temp) => temp.keep(),
            None => self.root,
        }
    }

    /// Removes a temporary fixture's folder now, reporting failure (a drop ignores it).
    /// A kept or attached fixture is left as it is.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be removed.
    pub fn close(mut self) -> Result<(), Error> {
        match self.temp.take() {
            Some(temp) => temp.close().map_err(|e| Error::io("remove", &self.root, e)),
            None => Ok(()),
        }
    }

    /// [`Error::NoSuchToken`] unless `token` is one of the fixture's.
    fn known(&self, token: &str) -> Result<(), Error> {
        if self.tokens.iter().any(|t| t == token) {
            Ok(())
        } else {
            Err(Error::NoSuchToken(token.to_owned()))
        }
    }

    /// Runs `cmd` with the fixture's environment and stdin closed; its stdout, or an error
    /// naming it as `shown` (without PINs) with its stderr.
    fn run(&self, mut cmd: Command, shown: String) -> Result<Vec<u8>, Error> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let out = self
            .apply_env(&mut cmd)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::Spawn { program, source })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(Error::Tool {
                command: shown,
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }
}

/// Makes `dir` and its missing parents; a folder made here is 0700.
fn private_folder(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io("create", dir, e))
}

/// Writes `text` to `path` unless it holds exactly that already; the file is 0600.
fn private_file(path: &Path, text: &str) -> Result<(), Error> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return restrict(path);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("write", path, e))?;
    restrict(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| Error::io("write", path, e))
}

/// Makes an existing file 0600 (a new one is made so; an old one may not be).
fn restrict(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("restrict the permissions of", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_pins_and_key_tokens_are_checked_before_anything_is_made() {
        let spec = Builder::new(Installation::with_module("/nonexistent/libsofthsm2.so"));
        let e = spec.clone().token("").build().unwrap_err().to_string();
        assert!(e.contains("not 1 to 32 bytes"), "{e}");
        let e = spec.clone().token("x".repeat(33)).build().unwrap_err();
        assert!(matches!(e, Error::InvalidOption(_)), "{e}");
        let e = spec.clone().token("t").pin("123").build().unwrap_err();
        assert_eq!(e.to_string(), "SoftHSM PINs are 4 to 255 bytes long");
        let e = spec.clone().token("t").so_pin("123").build().unwrap_err();
        assert!(matches!(e, Error::InvalidOption(_)), "{e}");
        let e = spec
            .clone()
            .token("t")
            .key("u", "k", "01", "rsa:2048")
            .build();
        assert!(
            matches!(e, Err(Error::NoSuchToken(ref t)) if t == "u"),
            "{e:?}"
        );
        // Valid options on a missing module: not installed, and no folder made.
        let e = spec.token("t").build().unwrap_err();
        assert!(matches!(e, Error::NotInstalled { .. }), "{e}");
    }

    #[test]
    fn the_debug_output_shows_no_pin() {
        let spec = SoftHsm::builder()
            .token("t")
            .pin("98765")
            .so_pin("13572468");
        let shown = format!("{spec:?}");
        assert!(
            !shown.contains("98765") && !shown.contains("13572468"),
            "{shown}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_0700_and_the_configuration_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b");
        private_folder(&inner).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&inner), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        let conf = inner.join(CONF);
        std::fs::write(&conf, "old").unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&conf, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "new");
        assert_eq!(mode(&conf), 0o600);
    }
}
