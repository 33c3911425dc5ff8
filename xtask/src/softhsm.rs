//! `cargo xtask softhsm`: SoftHSM2 installation and a token prepared for manual use.
//!
//! ```text
//! cargo xtask softhsm [--dir DIR] [--label hsmjwt] [--pin 1234] [--so-pin 12345678]
//! ```
//!
//! Makes `DIR` (default `target/softhsm`), writes `DIR/softhsm2.conf` pointing SoftHSM at
//! `DIR/tokens`, initializes a token there, and prints the `export` lines to use it. Run it
//! again and it only prints them. The exports go to stdout, so
//! `eval "$(cargo xtask softhsm)"` sets them in the current shell.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use hsmjwt_testkit::secrecy::ExposeSecret as _;
use hsmjwt_testkit::softhsm::{Builder, Installation, SoftHsm};

const USAGE: &str =
    "usage: cargo xtask softhsm [--dir DIR] [--label LABEL] [--pin PIN] [--so-pin PIN]

Prepares a SoftHSM2 token for trying hsmjwt by hand (installing softhsm2, opensc and
p11-kit with apt-get when missing) and prints the environment to use it:

  --dir DIR      folder for the configuration and the token files (default target/softhsm)
  --label LABEL  token label (default hsmjwt)
  --pin PIN      user PIN (default 1234)
  --so-pin PIN   security officer PIN (default 12345678)

Idempotent: when DIR already holds a token with that label, it only prints the lines.
Use it in a shell with: eval \"$(cargo xtask softhsm)\"";

/// Whether `name` is an executable file in a folder of `$PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// Whether this process runs as root (`id -u` prints 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0")
}

/// Installs SoftHSM2, OpenSC and p11-kit's remoting with apt-get when the module,
/// `softhsm2-util`, `pkcs11-tool`, `p11-kit` or `p11-kit-client.so` is missing; does nothing
/// when all are there.
///
/// # Errors
/// Fails when apt-get is not available, when it fails (for example without root rights),
/// or when something is still missing afterwards.
pub fn ensure_installed() -> Result<()> {
    let missing = || {
        let mut missing = Installation::detect().missing();
        if hsmjwt_testkit::p11kit::client_module().is_none() {
            missing.push("p11-kit, p11-kit-client.so".to_owned());
        }
        missing
    };
    let before = missing();
    if before.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: the PKCS#11 test modules are not fully installed (missing: {}); installing {}",
        before.join(", "),
        PACKAGES.join(" ")
    );
    apt_install(&PACKAGES).with_context(|| {
        format!(
            "{} missing: install SoftHSM2, OpenSC (pkcs11-tool) and p11-kit (with \
             p11-kit-client.so) with the system's package manager, then run this again",
            before.join(", ")
        )
    })?;
    let after = missing();
    if !after.is_empty() {
        bail!(
            "{} were installed but {} is still missing",
            PACKAGES.join(" "),
            after.join(", ")
        );
    }
    Ok(())
}

/// Installs Debian `packages` with apt-get (through `sudo -n` when not root).
///
/// # Errors
/// Fails when apt-get is not available or fails (for example without root rights).
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    if !on_path("apt-get") {
        bail!("apt-get is not available to install {}", packages.join(" "));
    }
    let sudo = !is_root() && on_path("sudo");
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        } else {
            Command::new("apt-get")
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null());
        cmd
    };
    let hint = format!(
        "apt-get needs root rights: run as root, or install {} with sudo",
        packages.join(" ")
    );
    crate::run_cmd(&mut apt(&["update"])).context(hint.clone())?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(packages);
    crate::run_cmd(&mut apt(&install)).context(hint)
}

/// The Debian packages of the PKCS#11 modules and tools the tests use.
const PACKAGES: [&str; 4] = ["softhsm2", "opensc", "p11-kit", "p11-kit-modules"];

/// The token `cargo xtask softhsm` makes unless told otherwise.
const DEFAULT_LABEL: &str = "hsmjwt";

/// `cargo xtask softhsm`'s options: what to make (a kept fixture), or `None` for the help.
fn parse(args: &[String]) -> Result<Option<Builder>> {
    let mut dir = crate::root().join("target").join("softhsm");
    let mut label = DEFAULT_LABEL.to_owned();
    let mut spec = Builder::new(Installation::detect());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value\n\n{USAGE}")),
            }
        };
        match name {
            "--dir" => {
                let given = PathBuf::from(value()?);
                dir = if given.is_absolute() {
                    given
                } else {
                    std::env::current_dir()
                        .context("cannot read the current directory")?
                        .join(given)
                };
            }
            "--label" => label = value()?,
            "--pin" => spec = spec.pin(value()?),
            "--so-pin" => spec = spec.so_pin(value()?),
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    Ok(Some(spec.dir(dir).token(label)))
}

/// Single-quotes a value for a POSIX shell.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `cargo xtask softhsm`: see the module documentation.
///
/// # Errors
/// Fails on a bad option, when SoftHSM2 cannot be installed, when the folder or the
/// configuration cannot be written, or when `softhsm2-util` fails.
pub fn run(args: &[String]) -> Result<()> {
    let Some(spec) = parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    ensure_installed()?;
    let hsm = prepare(&spec)?;
    let label = hsm.tokens().first().map_or(DEFAULT_LABEL, String::as_str);
    let uri = format!(
        "pkcs11:token={};object=jwt-signer;type=private",
        hsmjwt_testkit::uri_value(label)
    );
    for (name, value) in hsm.env() {
        println!("export {name}={}", sh_quote(&value.to_string_lossy()));
    }
    println!("export HSMJWT_PIN={}", sh_quote(hsm.pin().expose_secret()));
    println!("# example key URI: {uri}");
    println!("#   hsmjwt keygen --alg RS256 --key '{uri}'");
    println!("#   hsmjwt hsm list");
    println!("#   hsmjwt sign --key '{uri}' --iss me --aud you");
    Ok(())
}

/// Builds a kept fixture (`Builder::dir`): its folder, configuration and tokens, and says on
/// stderr which tokens were made and which were there already.
///
/// # Errors
/// Fails when the folder or the configuration cannot be written, or when `softhsm2-util`
/// or `pkcs11-tool` fails.
pub(crate) fn prepare(spec: &Builder) -> Result<SoftHsm> {
    let hsm = spec.build().context("cannot prepare the SoftHSM2 token")?;
    for label in hsm.tokens() {
        if hsm.reused_tokens().contains(label) {
            eprintln!(
                "xtask: token `{label}` already exists in {}; leaving it as it is (its PIN is unchanged)",
                hsm.root().display()
            );
        } else {
            eprintln!(
                "xtask: token `{label}` initialized in {}",
                hsm.root().display()
            );
        }
    }
    Ok(hsm)
}
