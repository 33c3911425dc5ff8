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
    eprintln!(
        "\ndemo finished: tokens minted and verified, one exchanged, the agent served a token and a JWT; scratch files removed"
    );
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

    eprintln!(
        "\n== 4. the agent: one process holds the HSM key and serves tokens and JWTs on a Unix socket =="
    );
    agent(
        bin,
        dir,
        &hsm_pub,
        conf,
        conf_path,
        module_path,
        hsm.pin().expose_secret(),
    )?;
    Ok(())
}

/// A child process killed (and waited for) when dropped, also when the demo fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Step 4: the IMS emulator knowing the HSM key, `hsmjwt agent` with that key (PIN from a
/// file), `agent token` and `agent sign` as a script uses them, then SIGTERM.
fn agent(
    bin: &Path,
    dir: &Path,
    hsm_pub: &Path,
    conf_var: &str,
    conf: &std::ffi::OsStr,
    module: &std::ffi::OsStr,
    pin: &str,
) -> Result<()> {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Stdio;

    let public = std::fs::read_to_string(hsm_pub)?;
    let creds = dir.join("agent-aem.json");
    let json = hsmjwt_testkit::aem::AemAccount {
        client_id: "cm-demo-agent",
        client_secret: "p8e-demo-agent-secret",
        email: "agent@techacct.adobe.com",
        id: "AGENTDEMO@techacct.adobe.com",
        org: "AGENTDEMO@AdobeOrg",
        public_key: &public,
        ..hsmjwt_testkit::aem::AemAccount::example()
    }
    .to_value();
    std::fs::write(&creds, serde_json::to_vec_pretty(&json)?)?;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600))?;
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, pin)?;
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600))?;

    eprintln!("\n$ hsmjwt ims emulator --credentials agent-aem.json   (in the background)");
    let mut emulator = Child(
        Command::new(bin)
            .args(["ims", "emulator", "--credentials", s(&creds)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the emulator")?,
    );
    let mut line = String::new();
    let stdout = emulator.0.stdout.take().context("the emulator's stdout")?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let ims_url = line.trim().to_owned();
    if !ims_url.starts_with("http://127.0.0.1:") {
        bail!("the emulator printed no base URL: {ims_url:?}");
    }
    eprintln!("  emulator at {ims_url}");

    let socket = dir.join("agent.sock");
    let config = dir.join("agent.toml");
    let text = format!(
        "[listen]\nunix = \"{socket}\"\n\n\
         [keys.hsm]\nkey = \"pkcs11:token=demo;object=jwt-signer?module-path={module}&pin-source={pin}\"\n\n\
         [tokens.aem]\nsource = \"ims-jwt\"\ncredentials = \"{creds}\"\nkey = \"hsm\"\nims_url = \"{ims_url}\"\n\n\
         [profiles.service]\nkey = \"hsm\"\niss = \"https://idp.example\"\naudiences = [\"adobe\"]\n\
         max_ttl = \"5m\"\nclaims = [\"name\"]\nkid = \"thumbprint\"\n",
        socket = socket.display(),
        module = PathBuf::from(module).display(),
        pin = pin_file.display(),
        creds = creds.display(),
    );
    std::fs::write(&config, &text)?;
    eprintln!(
        "\n$ cat agent.toml\n{}",
        text.replace(&format!("{}/", dir.display()), "")
    );
    hsmjwt(
        bin,
        dir,
        &["agent", "check", "--config", s(&config)],
        &[(conf_var, s(conf.as_ref()))],
    )?;
    eprintln!("\n$ hsmjwt agent --config agent.toml   (in the background)");
    let mut agent = Child(
        Command::new(bin)
            .args(["agent", "--config", s(&config)])
            .env(conf_var, conf)
            .env_remove("HSMJWT_PIN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the agent")?,
    );
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            bail!("the agent did not listen on {} in 20 s", socket.display());
        }
        if let Some(status) = agent.0.try_wait()? {
            bail!("the agent exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let socket_arg = s(&socket);
    let token = hsmjwt(
        bin,
        dir,
        &["agent", "token", "aem", "--socket", socket_arg],
        &[],
    )?;
    if token.trim().is_empty() {
        bail!("the agent gave an empty access token");
    }
    let jwt = hsmjwt(
        bin,
        dir,
        &[
            "agent",
            "sign",
            "service",
            "--sub",
            "svc-42",
            "--aud",
            "adobe",
            "--ttl",
            "60s",
            "--claim",
            "name=Service 42",
            "--socket",
            socket_arg,
        ],
        &[],
    )?;
    hsmjwt(
        bin,
        dir,
        &[
            "verify",
            "--key",
            s(hsm_pub),
            "--iss",
            "https://idp.example",
            "--aud",
            "adobe",
            jwt.trim(),
        ],
        &[],
    )?;
    eprintln!("\n$ kill -TERM <agent>");
    let status = Command::new("kill")
        .args(["-s", "TERM", &agent.0.id().to_string()])
        .status()?;
    if !status.success() {
        bail!("cannot signal the agent");
    }
    let stopped = agent.0.wait()?;
    if !stopped.success() {
        bail!("the agent stopped with {stopped}");
    }
    if socket.exists() {
        bail!("the agent left its socket behind");
    }
    eprintln!("  the agent stopped ({stopped}) and removed its socket");
    drop(emulator);
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
