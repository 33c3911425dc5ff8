//! `cargo xtask demo`: the README's main command.
//!
//! Builds the `hsmjwt` binary, then, in a scratch folder under `target/`:
//! 1. generates an ES256 key in a file, mints a token, exports the public key, verifies;
//! 2. creates a SoftHSM2 token (installing SoftHSM2 when missing), generates an RS256 key
//!    inside it, mints a token with `--key 'pkcs11:...'`, exports the public half and
//!    verifies the token with it;
//! 3. runs `hsmjwt demo`: a throwaway key in a temporary SoftHSM2 token, AEM-style
//!    credentials, the service-account JWT exchanged at a local IMS emulator, the cache.
//!
//! Every command is printed before it runs, with its output and the time it took.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hsmjwt_testkit::secrecy::ExposeSecret as _;
use hsmjwt_testkit::softhsm::{Builder, Installation};

use crate::{cargo, root, run_cmd};

pub(crate) fn run(_args: &[String]) -> Result<()> {
    crate::softhsm::ensure_installed()?;
    run_cmd(cargo().args(["build", "--quiet", "--package", "hsmjwt-cli"]))?;
    let bin = root().join("target/debug/hsmjwt");
    let dir = root().join(format!("target/demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = demo(&bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    eprintln!("\ndemo finished: tokens minted and verified, one exchanged; scratch files removed");
    Ok(())
}

fn demo(bin: &Path, dir: &Path) -> Result<()> {
    eprintln!("\n== 1. a software key ==");
    let key = dir.join("es256.pem");
    let pub_pem = dir.join("es256.pub.pem");
    hsmjwt(
        bin,
        dir,
        &["keygen", "--alg", "ES256", "--out", s(&key)],
        &[],
    )?;
    let token = hsmjwt(
        bin,
        dir,
        &[
            "sign",
            "--key",
            s(&key),
            "--iss",
            "demo",
            "--aud",
            "verifier",
            "--ttl",
            "5m",
            "--jti",
            "auto",
            "--kid",
            "thumbprint",
        ],
        &[],
    )?;
    let pem = hsmjwt(bin, dir, &["pubkey", "--key", s(&key)], &[])?;
    std::fs::write(&pub_pem, pem)?;
    hsmjwt(
        bin,
        dir,
        &[
            "verify",
            "--key",
            s(&pub_pem),
            "--iss",
            "demo",
            "--aud",
            "verifier",
            token.trim(),
        ],
        &[],
    )?;

    eprintln!("\n== 2. a key that never leaves a SoftHSM2 token ==");
    let hsm = Builder::new(Installation::detect())
        .temp_in(dir)
        .prefix("softhsm-")
        .token("demo")
        .build()?;
    let [(conf, conf_path), (module, module_path)] = hsm.env();
    let env = [
        (conf, s(conf_path.as_ref())),
        (module, s(module_path.as_ref())),
        ("HSMJWT_PIN", hsm.pin().expose_secret()),
    ];
    let uri = "pkcs11:token=demo;object=jwt-signer;id=%01";
    hsmjwt(bin, dir, &["keygen", "--alg", "RS256", "--key", uri], &env)?;
    hsmjwt(bin, dir, &["hsm", "list"], &env)?;
    let token = hsmjwt(
        bin,
        dir,
        &[
            "sign",
            "--key",
            uri,
            "--iss",
            "demo",
            "--sub",
            "service",
            "--aud",
            "verifier",
            "--kid",
            "thumbprint",
        ],
        &env,
    )?;
    let pem = hsmjwt(bin, dir, &["pubkey", "--key", uri], &env)?;
    let hsm_pub = dir.join("hsm.pub.pem");
    std::fs::write(&hsm_pub, pem)?;
    hsmjwt(
        bin,
        dir,
        &[
            "verify",
            "--key",
            s(&hsm_pub),
            "--iss",
            "demo",
            "--aud",
            "verifier",
            token.trim(),
        ],
        &[],
    )?;

    eprintln!(
        "\n== 3. the main job, offline: an HSM key's JWT exchanged for an access token at a local IMS =="
    );
    hsmjwt(bin, dir, &["demo"], &[])?;
    Ok(())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// Runs `hsmjwt ARGS`, shows the command, its stdout and its time, and returns stdout.
fn hsmjwt(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            let a = a.strip_prefix(&format!("{}/", dir.display())).unwrap_or(a);
            if a.contains(';') || a.len() > 60 {
                format!("'{a}'")
            } else {
                a.to_owned()
            }
        })
        .collect();
    let shown = shown.join(" ");
    let shown = if shown.len() > 160 {
        format!("{}...", &shown[..shown.floor_char_boundary(157)])
    } else {
        shown
    };
    eprintln!("\n$ hsmjwt {shown}");
    let start = Instant::now();
    let output = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run {}", PathBuf::from(bin).display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    print!("{stdout}");
    eprintln!("  ({:.1} ms)", start.elapsed().as_secs_f64() * 1000.0);
    if !output.status.success() {
        bail!(
            "hsmjwt {} failed with {}",
            args.first().unwrap_or(&""),
            output.status
        );
    }
    Ok(stdout)
}
