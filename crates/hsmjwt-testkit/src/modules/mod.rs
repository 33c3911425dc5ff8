//! Tokens of four PKCS#11 implementations for tests and CI, one fixture shape for all:
//! SoftHSM2, Kryoptic, tpm2-pkcs11 on a software TPM (swtpm), and p11-kit's remoting of
//! SoftHSM2 (`p11-kit server` and its client module).
//!
//! [`Setup::detect`] finds a module and its tools; [`Setup::start`] makes one initialized
//! token in a temporary folder, starting the servers it needs, and returns a [`Token`]:
//! the module to load, the environment a process needs to see the token
//! ([`Token::env`]), the label and the PINs, and `pkcs11-tool` on that token for keys made
//! by the module's own tooling. Dropping the token stops its servers and removes the folder.
//!
//! | [`Kind`] | module | what [`Setup::start`] does |
//! |---|---|---|
//! | `softhsm` | `libsofthsm2.so` | the [`softhsm`] fixture, one token |
//! | `kryoptic` | `libkryoptic_pkcs11.so`, built from crates.io (`cargo xtask modules`), named by `HSMJWT_KRYOPTIC_MODULE` | `KRYOPTIC_CONF` with one SQLite slot; `pkcs11-tool --init-token`, `--init-pin` |
//! | `tpm2` | `libtpm2_pkcs11.so` | a fresh `swtpm` on two free ports (`TPM2_PKCS11_TCTI`), a fresh store (`TPM2_PKCS11_STORE`); `pkcs11-tool --init-token`, `--init-pin` |
//! | `p11kit` | `p11-kit-client.so` | a SoftHSM2 token served by `p11-kit server` on a Unix socket (`P11_KIT_SERVER_ADDRESS`) |
//!
//! Every server is killed when the token is dropped (also when a test panics), and, where
//! util-linux's `setpriv` is installed, by the kernel when the thread that started it dies
//! (a killed test run leaves no server behind).
//!
//! Each token has a TPM, a server and a folder of its own, so tests do not share state; a
//! software TPM has room for few objects at a time and tpm2-pkcs11 is slow, so run a
//! module's tests one at a time (`--test-threads 1`) where the machine is small.

mod server;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::{ExposeSecret as _, SecretString};

use self::server::Server;
use crate::softhsm::{self, Login, SoftHsm, on_path};
use crate::{Error, p11kit};

/// OpenSC's tool, used to initialize tokens and make keys on every module.
const PKCS11_TOOL: &str = "pkcs11-tool";

/// The Kryoptic slot number the fixture's configuration declares.
const KRYOPTIC_SLOT: &str = "7";

/// A PKCS#11 implementation the fixture can set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// SoftHSM2, the reference.
    SoftHsm,
    /// Kryoptic, the Rust soft token (PKCS#11 3.x), built as a cdylib from crates.io.
    Kryoptic,
    /// tpm2-pkcs11 on swtpm, a software TPM 2.0.
    Tpm2,
    /// SoftHSM2 behind p11-kit's RPC: `p11-kit server` and `p11-kit-client.so`.
    P11Kit,
}

impl Kind {
    /// Every kind, SoftHSM first.
    pub const ALL: [Kind; 4] = [Kind::SoftHsm, Kind::Kryoptic, Kind::Tpm2, Kind::P11Kit];

    /// The short name: `softhsm`, `kryoptic`, `tpm2`, `p11kit`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::SoftHsm => "softhsm",
            Kind::Kryoptic => "kryoptic",
            Kind::Tpm2 => "tpm2",
            Kind::P11Kit => "p11kit",
        }
    }

    /// The kind with this [short name](Self::name).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The Debian/Ubuntu packages its tokens need at run time (not Kryoptic's build).
    #[must_use]
    pub fn packages(self) -> &'static [&'static str] {
        match self {
            Kind::SoftHsm => &["softhsm2", "opensc"],
            Kind::Kryoptic => &["opensc"],
            Kind::Tpm2 => &["swtpm", "libtpm2-pkcs11-1", "libtss2-tcti-swtpm0", "opensc"],
            Kind::P11Kit => &["p11-kit", "p11-kit-modules", "softhsm2", "opensc"],
        }
    }

    /// The environment variable that names the module's path instead of the default.
    #[must_use]
    pub fn module_env(self) -> &'static str {
        match self {
            Kind::SoftHsm => softhsm::MODULE_ENV,
            Kind::Kryoptic => "HSMJWT_KRYOPTIC_MODULE",
            Kind::Tpm2 => "HSMJWT_TPM2_MODULE",
            Kind::P11Kit => "HSMJWT_P11KIT_CLIENT_MODULE",
        }
    }

    /// The programs its set-up runs.
    fn tools(self) -> &'static [&'static str] {
        match self {
            Kind::SoftHsm => &["softhsm2-util", PKCS11_TOOL],
            Kind::Kryoptic => &[PKCS11_TOOL],
            Kind::Tpm2 => &["swtpm", PKCS11_TOOL],
            Kind::P11Kit => &["p11-kit", "softhsm2-util", PKCS11_TOOL],
        }
    }

    /// The module's file name where the distribution installs it.
    fn installed_module(self) -> Option<PathBuf> {
        let (dirs, file): (&[&str], &str) = match self {
            Kind::SoftHsm => return Some(PathBuf::from(softhsm::DEFAULT_MODULE)),
            Kind::Kryoptic => return None,
            Kind::Tpm2 => (&["pkcs11", ""], "libtpm2_pkcs11.so"),
            Kind::P11Kit => (&["pkcs11"], "p11-kit-client.so"),
        };
        let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
        let roots = [multiarch.as_str(), "/usr/lib64", "/usr/lib"];
        let candidates: Vec<PathBuf> = roots
            .iter()
            .flat_map(|root| {
                dirs.iter()
                    .map(move |dir| Path::new(root).join(dir).join(file))
            })
            .collect();
        candidates
            .iter()
            .find(|p| p.is_file())
            .or(candidates.first())
            .cloned()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A module of some [`Kind`] and where it is; [`start`](Self::start) makes tokens on it.
#[derive(Clone, Debug)]
pub struct Setup {
    kind: Kind,
    module: Option<PathBuf>,
    /// p11-kit's server side: the SoftHSM2 module it serves.
    softhsm: softhsm::Installation,
}

impl Setup {
    /// The module named by the kind's [`module_env`](Kind::module_env) variable, else where
    /// Debian installs it (Kryoptic has no such place: without the variable it is missing).
    #[must_use]
    pub fn detect(kind: Kind) -> Self {
        let module = std::env::var_os(kind.module_env())
            .filter(|m| !m.is_empty())
            .map(PathBuf::from)
            .or_else(|| kind.installed_module());
        Self {
            kind,
            module,
            softhsm: softhsm::Installation::detect(),
        }
    }

    /// The module of `kind` at `module`.
    #[must_use]
    pub fn with_module(kind: Kind, module: impl Into<PathBuf>) -> Self {
        let module = module.into();
        let softhsm = if kind == Kind::SoftHsm {
            softhsm::Installation::with_module(&module)
        } else {
            softhsm::Installation::detect()
        };
        Self {
            kind,
            module: Some(module),
            softhsm,
        }
    }

    /// The kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The module's path, when known.
    #[must_use]
    pub fn module(&self) -> Option<&Path> {
        self.module.as_deref()
    }

    /// What is missing: the module (its path, or the variable that should name it), the
    /// server-side SoftHSM2 module for p11-kit, and the tools not on `$PATH`.
    #[must_use]
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        match &self.module {
            Some(m) if m.is_file() => {}
            Some(m) => missing.push(m.display().to_string()),
            None => missing.push(format!("${}", self.kind.module_env())),
        }
        if self.kind == Kind::P11Kit && !self.softhsm.module().is_file() {
            missing.push(self.softhsm.module().display().to_string());
        }
        missing.extend(
            self.kind
                .tools()
                .iter()
                .filter(|t| !on_path(t))
                .map(|t| (*t).to_owned()),
        );
        missing
    }

    /// Fails when anything is [missing](Self::missing).
    ///
    /// # Errors
    /// [`Error::ModuleNotInstalled`], naming what is missing and how to install it.
    pub fn check(&self) -> Result<(), Error> {
        let missing = self.missing();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::ModuleNotInstalled {
            module: self.kind.name(),
            missing,
            hint: match self.kind {
                Kind::Kryoptic => format!(
                    "build it with `cargo xtask modules kryoptic` and set ${} to the path it prints",
                    self.kind.module_env()
                ),
                kind => format!(
                    "install it with `apt-get install -y {}` or `cargo xtask modules {kind}`",
                    kind.packages().join(" ")
                ),
            },
        })
    }

    /// Makes a token labelled `label` (1 to 32 bytes) with the user PIN [`softhsm::PIN`]
    /// and the security officer PIN [`softhsm::SO_PIN`] in a new temporary folder, starting
    /// the servers the module needs.
    ///
    /// # Errors
    /// [`Error::ModuleNotInstalled`]; [`Error::InvalidOption`] for a bad label;
    /// [`Error::Io`] when the folder or a file cannot be made; [`Error::Spawn`] or
    /// [`Error::Server`] when a server cannot be started or is not ready in time;
    /// [`Error::Tool`] when the token cannot be initialized.
    pub fn start(&self, label: &str) -> Result<Token, Error> {
        self.check()?;
        if label.is_empty() || label.len() > 32 {
            return Err(Error::InvalidOption(format!(
                "the token label `{label}` is not 1 to 32 bytes long"
            )));
        }
        let module = self.module.clone().unwrap_or_default();
        match self.kind {
            Kind::SoftHsm => self.start_softhsm(label),
            Kind::Kryoptic => start_kryoptic(module, label),
            Kind::Tpm2 => start_tpm2(module, label),
            Kind::P11Kit => self.start_p11kit(module, label),
        }
    }

    /// The SoftHSM2 fixture with one token.
    fn start_softhsm(&self, label: &str) -> Result<Token, Error> {
        let hsm = softhsm::Builder::new(self.softhsm.clone())
            .prefix("hsmjwt-softhsm-")
            .token(label)
            .build()?;
        let mut token = Token::new(
            Kind::SoftHsm,
            hsm.module().to_owned(),
            label,
            hsm.root().to_owned(),
        );
        token.push_env("SOFTHSM2_CONF", hsm.conf().as_os_str());
        token.softhsm = Some(hsm);
        Ok(token)
    }

    /// A SoftHSM2 token served by `p11-kit server` ([`p11kit::Server`]) on a Unix socket in
    /// the fixture's folder.
    fn start_p11kit(&self, client: PathBuf, label: &str) -> Result<Token, Error> {
        let hsm = softhsm::Builder::new(self.softhsm.clone())
            .prefix("hsmjwt-p11kit-")
            .token(label)
            .build()?;
        let server = p11kit::Server::start(&hsm, &crate::uri_value(label))?;
        let mut token = Token::new(Kind::P11Kit, client, label, hsm.root().to_owned());
        token.push_env(p11kit::ADDRESS_ENV, OsStr::new(&server.address()));
        token.p11kit = Some(server);
        token.softhsm = Some(hsm);
        // The client sees the token through the socket.
        token.pkcs11_tool(Login::No, &["--list-token-slots"])?;
        Ok(token)
    }
}

/// A Kryoptic token: `KRYOPTIC_CONF` with one SQLite slot, initialized by `pkcs11-tool`.
fn start_kryoptic(module: PathBuf, label: &str) -> Result<Token, Error> {
    let temp = temp_folder("hsmjwt-kryoptic-")?;
    let root = temp.path().to_owned();
    let conf = root.join("kryoptic.conf");
    let db = root.join("token.sqlite");
    let text = format!(
        "# Kryoptic configuration written by hsmjwt-testkit.\n\
         [[slots]]\n\
         slot = {KRYOPTIC_SLOT}\n\
         dbtype = \"sqlite\"\n\
         dbargs = \"{}\"\n",
        db.display()
    );
    std::fs::write(&conf, text).map_err(|e| Error::io("write", &conf, e))?;
    let mut token = Token::new(Kind::Kryoptic, module, label, root);
    token.push_env("KRYOPTIC_CONF", conf.as_os_str());
    token.temp = Some(temp);
    token.init(&["--slot", KRYOPTIC_SLOT])?;
    Ok(token)
}

/// A tpm2-pkcs11 token on a fresh swtpm (state and store in the folder), initialized by
/// `pkcs11-tool`.
fn start_tpm2(module: PathBuf, label: &str) -> Result<Token, Error> {
    let temp = temp_folder("hsmjwt-tpm2-")?;
    let root = temp.path().to_owned();
    let (state, store) = (root.join("tpm-state"), root.join("store"));
    for dir in [&state, &store] {
        std::fs::create_dir(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let mut state_arg = OsString::from("dir=");
    state_arg.push(&state);
    // Another process may take a free port before swtpm binds it: try a few times.
    let mut attempt = 0;
    let (server, port) = loop {
        attempt += 1;
        // The TCTI (`swtpm:host=...,port=P`) finds the control channel at P + 1.
        let pair = server::free_port_pair()?;
        let port = pair.port();
        let ctrl = port + 1;
        let server_arg = format!("type=tcp,port={port},bindaddr=127.0.0.1");
        let ctrl_arg = format!("type=tcp,port={ctrl},bindaddr=127.0.0.1");
        // Let the ports go only now, just before swtpm binds them.
        drop(pair);
        let mut server = Server::spawn(
            "swtpm",
            Path::new("swtpm"),
            &[
                OsStr::new("socket"),
                OsStr::new("--tpm2"),
                OsStr::new("--flags"),
                OsStr::new("not-need-init,startup-clear"),
                OsStr::new("--server"),
                OsStr::new(&server_arg),
                OsStr::new("--ctrl"),
                OsStr::new(&ctrl_arg),
                OsStr::new("--tpmstate"),
                &state_arg,
            ],
            &[],
            root.join(format!("swtpm-{attempt}.log")),
        )?;
        match server.wait_until(|| server::listening(port)) {
            Ok(()) => break (server, port),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => server.stop(),
        }
    };
    let mut token = Token::new(Kind::Tpm2, module, label, root);
    token.push_env(
        "TPM2_PKCS11_TCTI",
        OsStr::new(&format!("swtpm:host=127.0.0.1,port={port}")),
    );
    token.push_env("TPM2_PKCS11_STORE", store.as_os_str());
    token.servers.push(server);
    token.temp = Some(temp);
    token.init(&[])?;
    Ok(token)
}

/// A new temporary folder (0700) in the system's temporary folder.
fn temp_folder(prefix: &str) -> Result<tempfile::TempDir, Error> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let parent = std::env::temp_dir();
    builder
        .tempdir_in(&parent)
        .map_err(|e| Error::io("create a temporary folder in", parent, e))
}

/// One initialized token of some module, its servers running; see the [module
/// documentation](self). Dropping it stops the servers and removes its folder.
pub struct Token {
    kind: Kind,
    module: PathBuf,
    label: String,
    root: PathBuf,
    pin: SecretString,
    so_pin: SecretString,
    env: Vec<(&'static str, OsString)>,
    // Dropped in this order: the servers, then the folders they use.
    servers: Vec<Server>,
    p11kit: Option<p11kit::Server>,
    softhsm: Option<SoftHsm>,
    temp: Option<tempfile::TempDir>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("module", &self.module)
            .field("label", &self.label)
            .field("root", &self.root)
            .field("env", &self.env)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl Token {
    fn new(kind: Kind, module: PathBuf, label: &str, root: PathBuf) -> Self {
        Self {
            kind,
            module,
            label: label.to_owned(),
            root,
            pin: SecretString::from(softhsm::PIN),
            so_pin: SecretString::from(softhsm::SO_PIN),
            env: Vec::new(),
            servers: Vec::new(),
            p11kit: None,
            softhsm: None,
            temp: None,
        }
    }

    fn push_env(&mut self, name: &'static str, value: &OsStr) {
        self.env.push((name, value.to_owned()));
    }

    /// The module's kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The PKCS#11 module a client loads (for p11-kit, the client module).
    #[must_use]
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The token's label.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token's folder: configuration, store, server logs; files of the test may go
    /// there too.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The user PIN.
    #[must_use]
    pub fn pin(&self) -> &SecretString {
        &self.pin
    }

    /// The security officer PIN.
    #[must_use]
    pub fn so_pin(&self) -> &SecretString {
        &self.so_pin
    }

    /// The environment a process needs to see the token (`SOFTHSM2_CONF`,
    /// `KRYOPTIC_CONF`, `TPM2_PKCS11_TCTI` and `TPM2_PKCS11_STORE`, or
    /// `P11_KIT_SERVER_ADDRESS`), and `PKCS11_MODULE` (read by the `hsmjwt` CLI).
    #[must_use]
    pub fn env(&self) -> Vec<(&'static str, &OsStr)> {
        let mut env: Vec<_> = self.env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
        env.push(("PKCS11_MODULE", self.module.as_os_str()));
        env
    }

    /// Sets [`env`](Self::env) on `cmd`.
    pub fn apply_env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.envs(self.env())
    }

    /// The process ids of the token's servers (swtpm, `p11-kit server`); none for SoftHSM2
    /// and Kryoptic, which run inside the client.
    #[must_use]
    pub fn server_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.servers.iter().filter_map(Server::id).collect();
        ids.extend(self.p11kit.as_ref().map(p11kit::Server::pid));
        ids
    }

    /// `pkcs11-tool --init-token` and `--init-pin` with the token's PINs.
    fn init(&self, slot: &[&str]) -> Result<(), Error> {
        let mut args = vec!["--init-token", "--label", &self.label, "--so-pin"];
        args.push(self.so_pin.expose_secret());
        args.extend_from_slice(slot);
        let shown = format!("{PKCS11_TOOL} --init-token --label {}", self.label);
        self.run_tool(&args, shown)?;
        let args = [
            "--token-label",
            &self.label,
            "--init-pin",
            "--login",
            "--login-type",
            "so",
            "--so-pin",
            self.so_pin.expose_secret(),
            "--pin",
            self.pin.expose_secret(),
        ];
        let shown = format!("{PKCS11_TOOL} --token-label {} --init-pin", self.label);
        self.run_tool(&args, shown).map(drop)
    }

    /// Runs `pkcs11-tool --module MODULE --token-label LABEL [--login --pin PIN] ARGS` with
    /// the token's environment and stdin closed; returns its stdout.
    ///
    /// # Errors
    /// [`Error::Spawn`] or [`Error::Tool`] (with its stderr) when `pkcs11-tool` fails.
    pub fn pkcs11_tool(&self, login: Login, args: &[&str]) -> Result<Vec<u8>, Error> {
        let mut full = vec!["--token-label", &self.label];
        if login == Login::User {
            full.extend(["--login", "--pin", self.pin.expose_secret()]);
        }
        full.extend_from_slice(args);
        let shown = format!(
            "{PKCS11_TOOL} --token-label {}{} {}",
            self.label,
            if login == Login::User { " --login" } else { "" },
            args.join(" ")
        );
        self.run_tool(&full, shown)
    }

    /// Makes a key pair with `pkcs11-tool --keypairgen --key-type KEY_TYPE --id ID --label
    /// LABEL`: `id` in hex, `key_type` in pkcs11-tool's words (`rsa:2048`,
    /// `EC:prime256v1`, `EC:secp384r1`, `EC:secp521r1`, `EC:edwards25519`).
    ///
    /// # Errors
    /// [`Error::Spawn`] or [`Error::Tool`] when `pkcs11-tool` fails (for example on a key
    /// type the module does not make).
    pub fn keypairgen(&self, label: &str, id: &str, key_type: &str) -> Result<(), Error> {
        let args = [
            "--keypairgen",
            "--key-type",
            key_type,
            "--id",
            id,
            "--label",
            label,
        ];
        self.pkcs11_tool(Login::User, &args).map(drop)
    }

    /// `pkcs11-tool --module MODULE ARGS`; `shown` names it without PINs.
    fn run_tool(&self, args: &[&str], shown: String) -> Result<Vec<u8>, Error> {
        let mut cmd = Command::new(PKCS11_TOOL);
        cmd.arg("--module").arg(&self.module).args(args);
        let out = self
            .apply_env(&mut cmd)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::Spawn {
                program: PKCS11_TOOL.to_owned(),
                source,
            })?;
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

    /// Stops the servers and removes the folder now, reporting a folder that cannot be
    /// removed (a drop ignores it).
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be removed.
    pub fn close(mut self) -> Result<(), Error> {
        for server in &mut self.servers {
            server.stop();
        }
        drop(self.p11kit.take());
        if let Some(hsm) = self.softhsm.take() {
            hsm.close()?;
        }
        match self.temp.take() {
            Some(temp) => temp.close().map_err(|e| Error::io("remove", &self.root, e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(Kind::from_name("nss"), None);
    }

    #[test]
    fn a_missing_module_is_named_with_the_way_to_get_it() {
        let s = Setup::with_module(Kind::Tpm2, "/nonexistent/libtpm2_pkcs11.so");
        assert!(
            s.missing()
                .contains(&"/nonexistent/libtpm2_pkcs11.so".to_owned())
        );
        let e = s.start("t").unwrap_err().to_string();
        assert!(
            e.starts_with("tpm2 is not set up (missing: /nonexistent/libtpm2_pkcs11.so")
                && e.contains("apt-get install -y swtpm libtpm2-pkcs11-1"),
            "{e}"
        );
        let s = Setup {
            kind: Kind::Kryoptic,
            module: None,
            softhsm: softhsm::Installation::detect(),
        };
        let e = s.check().unwrap_err().to_string();
        assert!(
            e.contains("$HSMJWT_KRYOPTIC_MODULE") && e.contains("cargo xtask modules kryoptic"),
            "{e}"
        );
    }

    #[test]
    fn labels_are_percent_encoded_for_the_server() {
        assert_eq!(crate::uri_value("a b/c"), "a%20b%2Fc");
        assert_eq!(crate::uri_value("tok-1_x.y~"), "tok-1_x.y~");
        assert_eq!(crate::uri_value("é"), "%C3%A9");
    }
}
