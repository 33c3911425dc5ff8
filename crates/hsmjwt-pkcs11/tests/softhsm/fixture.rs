//! One SoftHSM2 set-up per test process.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and a process has one context per
//! module. Setting an environment variable is `unsafe` in edition 2024 (and this workspace
//! forbids `unsafe`), so the first test to ask for the fixture runs this same test binary
//! again, with the same arguments, `SOFTHSM2_CONF` pointing at a fresh token folder and
//! stdin closed (no PIN prompt), and exits with its status. The child makes the tokens and
//! keys once and runs the tests.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use hsmjwt_core::Algorithm;
use hsmjwt_pkcs11::Pkcs11Uri;

/// Marks the child process.
const CHILD: &str = "HSMJWT_PKCS11_TEST_CHILD";

pub(crate) const PIN: &str = "1234";
pub(crate) const SO_PIN: &str = "12345678";
/// The token most tests use; several tests log into it at once.
pub(crate) const MAIN: &str = "hsmjwt-main";
/// A token only the wrong-PIN and no-PIN tests touch: nobody logs into it.
pub(crate) const NO_LOGIN: &str = "hsmjwt-nologin";
/// A token only the session-recovery test touches: it logs the application out.
pub(crate) const RECOVER: &str = "hsmjwt-recover";
/// A token only the closed-sessions test touches: it closes every session on its slot.
pub(crate) const CLOSE_ALL: &str = "hsmjwt-closeall";
/// A token only the churn test touches: it generates keys there while other threads open,
/// list and sign.
pub(crate) const CHURN: &str = "hsmjwt-churn";
/// A token only `pkcs11-tool` logs in to, again and again, in the other-process test.
pub(crate) const BUSY: &str = "hsmjwt-busy";

/// Keys made by `pkcs11-tool` on the main token: (label, id, key type).
pub(crate) const TOOL_KEYS: [(&str, &str, &str); 3] = [
    ("tool-rsa", "01", "rsa:2048"),
    ("tool-p256", "02", "EC:prime256v1"),
    ("tool-p384", "03", "EC:secp384r1"),
];

/// Keys made by `generate_key_pair` on the main token: (label, algorithm).
pub(crate) const LIB_KEYS: [(&str, Algorithm); 3] = [
    ("lib-rsa", Algorithm::PS256),
    ("lib-p256", Algorithm::ES256),
    ("lib-p384", Algorithm::ES384),
];

pub(crate) struct Fixture {
    pub(crate) module: PathBuf,
    pub(crate) dir: PathBuf,
}

impl Fixture {
    /// A URI for `object` on `token`, with the module and the PIN.
    pub(crate) fn uri(&self, token: &str, object: &str) -> Pkcs11Uri {
        self.uri_with_pin(token, object, PIN)
    }

    pub(crate) fn uri_with_pin(&self, token: &str, object: &str, pin: &str) -> Pkcs11Uri {
        Pkcs11Uri::new()
            .with_token(token)
            .with_object(object)
            .with_module_path(&self.module)
            .with_pin_value(pin.into())
    }

    /// Runs `pkcs11-tool` on a token, logged in (to make keys while setting up); returns
    /// stdout.
    pub(crate) fn pkcs11_tool(&self, token: &str, args: &[&str]) -> Vec<u8> {
        self.run_pkcs11_tool(token, true, args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `pkcs11-tool` on a token without logging in, to read public objects while other
    /// tests run; returns stdout, or stderr on failure. (SoftHSM rewrites a token's file at
    /// every login, and a look-up by another process in that instant fails.)
    pub(crate) fn read_with_pkcs11_tool(
        &self,
        token: &str,
        args: &[&str],
    ) -> Result<Vec<u8>, String> {
        self.run_pkcs11_tool(token, false, args)
    }

    fn run_pkcs11_tool(&self, token: &str, login: bool, args: &[&str]) -> Result<Vec<u8>, String> {
        let login: &[&str] = if login {
            &["--login", "--pin", PIN]
        } else {
            &[]
        };
        let out = Command::new("pkcs11-tool")
            .arg("--module")
            .arg(&self.module)
            .args(["--token-label", token])
            .args(login)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("pkcs11-tool runs");
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "pkcs11-tool {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("HSMJWT_REQUIRE_SOFTHSM").is_ok_and(|v| v == "1")
}

fn module() -> PathBuf {
    std::env::var_os("PKCS11_MODULE")
        .filter(|m| !m.is_empty() && Path::new(m).exists())
        .map_or_else(
            || PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"),
            PathBuf::from,
        )
}

/// The fixture, or `None` (after a skip message) when SoftHSM2 is not installed and not
/// required.
pub(crate) fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(init).as_ref()
}

fn init() -> Option<Fixture> {
    let module = module();
    let mut missing = Vec::new();
    if !module.exists() {
        missing.push(module.display().to_string());
    }
    missing.extend(
        ["softhsm2-util", "pkcs11-tool"]
            .into_iter()
            .filter(|t| !on_path(t))
            .map(str::to_owned),
    );
    if !missing.is_empty() {
        let msg = format!(
            "SoftHSM2 is not installed (missing: {}); install it with `apt-get install -y softhsm2 opensc` or `cargo xtask softhsm`",
            missing.join(", ")
        );
        if required() {
            panic!("{msg} (required because CI or HSMJWT_REQUIRE_SOFTHSM=1 is set)");
        }
        // Straight to stderr: the test harness captures `eprintln!`.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hsmjwt-pkcs11-softhsm");
    let conf = dir.join("softhsm2.conf");
    if std::env::var_os(CHILD).is_none() {
        rerun_in_child(&conf, &module);
    }
    let fixture = Fixture { module, dir };
    setup(&fixture, &conf);
    Some(fixture)
}

/// Runs this test binary again with the SoftHSM environment, then exits with its status.
fn rerun_in_child(conf: &Path, module: &Path) -> ! {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", conf)
        .env("PKCS11_MODULE", module)
        .env_remove("HSMJWT_PIN")
        .stdin(Stdio::null())
        .status()
        .expect("the test binary runs again");
    std::process::exit(status.code().unwrap_or(101));
}

fn setup(f: &Fixture, conf: &Path) {
    assert_eq!(
        std::env::var_os("SOFTHSM2_CONF").as_deref(),
        Some(conf.as_os_str()),
        "the child runs with the fixture's SOFTHSM2_CONF"
    );
    let _ = std::fs::remove_dir_all(&f.dir);
    let tokens = f.dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token folder");
    std::fs::write(
        conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    for label in [MAIN, NO_LOGIN, RECOVER, CLOSE_ALL, CHURN, BUSY] {
        let out = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                PIN,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("softhsm2-util runs");
        assert!(
            out.status.success(),
            "softhsm2-util: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (label, id, key_type) in TOOL_KEYS {
        f.pkcs11_tool(
            MAIN,
            &[
                "--keypairgen",
                "--key-type",
                key_type,
                "--id",
                id,
                "--label",
                label,
            ],
        );
    }
    f.pkcs11_tool(
        NO_LOGIN,
        &[
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--id",
            "09",
            "--label",
            "nologin-p256",
        ],
    );
    f.pkcs11_tool(
        RECOVER,
        &[
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--id",
            "0a",
            "--label",
            "recover-p256",
        ],
    );
    f.pkcs11_tool(
        CLOSE_ALL,
        &[
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--id",
            "0b",
            "--label",
            "closeall-p256",
        ],
    );
    // The library's own key generation, into the same token.
    for (label, alg) in LIB_KEYS {
        hsmjwt_pkcs11::generate_key_pair(&f.uri(MAIN, label), alg, None)
            .expect("generate_key_pair");
    }
}
