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

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Where Debian and Ubuntu install the SoftHSM2 PKCS#11 module.
pub(crate) const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

const TOOLS: [&str; 2] = ["softhsm2-util", "pkcs11-tool"];

const USAGE: &str =
    "usage: cargo xtask softhsm [--dir DIR] [--label LABEL] [--pin PIN] [--so-pin PIN]

Prepares a SoftHSM2 token for trying hsmjwt by hand (installing softhsm2 and opensc with
apt-get when missing) and prints the environment to use it:

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

/// What is missing of SoftHSM2 and its tools.
fn missing() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !Path::new(MODULE).exists() {
        missing.push(MODULE);
    }
    missing.extend(TOOLS.into_iter().filter(|t| !on_path(t)));
    missing
}

fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a command with its output passed through; fails on a non-zero exit.
fn run_visible(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", show(cmd));
    }
    Ok(())
}

/// Whether this process runs as root (`id -u` prints 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0")
}

/// Installs SoftHSM2 and OpenSC with apt-get when the module or `softhsm2-util` or
/// `pkcs11-tool` is missing; does nothing when all are there.
///
/// # Errors
/// Fails when apt-get is not available, when it fails (for example without root rights),
/// or when something is still missing afterwards.
pub fn ensure_installed() -> Result<()> {
    let before = missing();
    if before.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: SoftHSM2 is not fully installed (missing: {}); installing softhsm2 and opensc",
        before.join(", ")
    );
    if !on_path("apt-get") {
        bail!(
            "SoftHSM2 is missing ({}) and apt-get is not available: install SoftHSM2 and OpenSC \
             (pkcs11-tool) with the system's package manager, then run this again",
            before.join(", ")
        );
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
    let hint = "apt-get needs root rights: run as root, or install softhsm2 and opensc with sudo";
    run_visible(&mut apt(&["update"])).context(hint)?;
    run_visible(&mut apt(&[
        "install",
        "-y",
        "--no-install-recommends",
        "softhsm2",
        "opensc",
    ]))
    .context(hint)?;
    let after = missing();
    if !after.is_empty() {
        bail!(
            "softhsm2 and opensc were installed but {} is still missing",
            after.join(", ")
        );
    }
    Ok(())
}

struct Options {
    dir: PathBuf,
    label: String,
    pin: String,
    so_pin: String,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut opts = Options {
        dir: crate::root().join("target").join("softhsm"),
        label: "hsmjwt".to_owned(),
        pin: "1234".to_owned(),
        so_pin: "12345678".to_owned(),
    };
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
                let dir = PathBuf::from(value()?);
                opts.dir = if dir.is_absolute() {
                    dir
                } else {
                    std::env::current_dir()
                        .context("cannot read the current directory")?
                        .join(dir)
                };
            }
            "--label" => opts.label = value()?,
            "--pin" => opts.pin = value()?,
            "--so-pin" => opts.so_pin = value()?,
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    if opts.label.is_empty() || opts.label.len() > 32 {
        bail!("the token label must be 1 to 32 bytes long");
    }
    if opts.pin.len() < 4 || opts.so_pin.len() < 4 {
        bail!("SoftHSM PINs must be at least 4 characters long");
    }
    Ok(Some(opts))
}

/// The labels of the initialized tokens that SoftHSM sees with `conf`.
fn token_labels(conf: &Path) -> Result<Vec<String>> {
    let mut cmd = Command::new("softhsm2-util");
    cmd.arg("--show-slots").env("SOFTHSM2_CONF", conf);
    let out = cmd
        .output()
        .with_context(|| format!("cannot start `{}`", show(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed with {}: {}",
            show(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Label:"))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// Percent-encodes a URI attribute value (RFC 7512): all but unreserved characters.
fn pct(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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
    let Some(opts) = parse(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    ensure_installed()?;
    let conf = prepare_token(&opts.dir, &opts.label, &opts.pin, &opts.so_pin)?;

    let conf_s = conf.display().to_string();
    let uri = format!(
        "pkcs11:token={};object=jwt-signer;type=private",
        pct(&opts.label)
    );
    println!("export SOFTHSM2_CONF={}", sh_quote(&conf_s));
    println!("export PKCS11_MODULE={}", sh_quote(MODULE));
    println!("export HSMJWT_PIN={}", sh_quote(&opts.pin));
    println!("# example key URI: {uri}");
    println!("#   hsmjwt keygen --alg RS256 --key '{uri}'");
    println!("#   hsmjwt hsm list");
    println!("#   hsmjwt sign --key '{uri}' --iss me --aud you");
    Ok(())
}

/// Writes `DIR/softhsm2.conf` (token files in `DIR/tokens`) and initializes the token
/// `label` there unless it exists; returns the configuration's path, for `SOFTHSM2_CONF`.
///
/// # Errors
/// Fails when the folder or the configuration cannot be written, or when `softhsm2-util`
/// fails.
pub(crate) fn prepare_token(dir: &Path, label: &str, pin: &str, so_pin: &str) -> Result<PathBuf> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)
        .with_context(|| format!("cannot create {}", tokens.display()))?;
    let conf = dir.join("softhsm2.conf");
    let conf_text = format!(
        "# Written by `cargo xtask softhsm`.\ndirectories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    if std::fs::read_to_string(&conf).ok().as_deref() != Some(conf_text.as_str()) {
        std::fs::write(&conf, &conf_text)
            .with_context(|| format!("cannot write {}", conf.display()))?;
    }

    if token_labels(&conf)?.iter().any(|l| l == label) {
        eprintln!(
            "xtask: token `{}` already exists in {}; leaving it as it is (its PIN is unchanged)",
            label,
            tokens.display()
        );
    } else {
        let mut init = Command::new("softhsm2-util");
        init.args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", so_pin, "--pin", pin])
            .env("SOFTHSM2_CONF", &conf)
            .stdout(Stdio::null());
        eprintln!(
            "xtask: $ SOFTHSM2_CONF={} softhsm2-util --init-token --free --label {} --so-pin *** --pin ***",
            conf.display(),
            label
        );
        let status = init.status().context("cannot start softhsm2-util")?;
        if !status.success() {
            bail!("softhsm2-util --init-token failed with {status}");
        }
        if !token_labels(&conf)?.iter().any(|l| l == label) {
            bail!(
                "softhsm2-util reported success but token `{}` is not in {}",
                label,
                tokens.display()
            );
        }
        eprintln!(
            "xtask: token `{}` initialized in {}",
            label,
            tokens.display()
        );
    }

    Ok(conf)
}
