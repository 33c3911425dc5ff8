//! `hsmjwt demo`: the whole flow, offline. A throwaway RSA key (in a temporary SoftHSM2
//! token when SoftHSM2 is installed), AEM-style service credentials without a private key,
//! a local IMS emulator, a minted service-account JWT, its exchange, the token cache; then
//! everything is cleaned up.
//!
//! SoftHSM reads `SOFTHSM2_CONF` from the environment, which a process may not set for
//! itself without `unsafe`: the HSM part runs in a child process of this same binary, with
//! the variable set.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use hsmjwt::ims::{CredentialsFile, ImsClient, ImsEndpoint, JwtExchange};
use hsmjwt::oauth::TokenCache;
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner};
use hsmjwt::{Algorithm, Signer};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Integration};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "hsmjwt-demo";
const OBJECT: &str = "demo-ims-key";
const PIN: &str = "1234";
const SO_PIN: &str = "12345678";
/// Marks the child process that holds the SoftHSM token.
const CHILD_ENV: &str = "HSMJWT_DEMO_SOFTHSM_CHILD";

/// Arguments of `hsmjwt demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Use a software key even when SoftHSM2 is installed.
    #[arg(long)]
    software_key: bool,
}

pub(crate) fn run(a: &DemoArgs) -> Result<ExitCode> {
    if std::env::var_os(CHILD_ENV).is_some() {
        return demo(KeyKind::SoftHsm);
    }
    if !a.software_key && softhsm_available() {
        return run_with_softhsm();
    }
    if !a.software_key {
        eprintln!(
            "note: SoftHSM2 is not installed ({MODULE} and softhsm2-util): using a software key"
        );
    }
    demo(KeyKind::Software)
}

fn softhsm_available() -> bool {
    Path::new(MODULE).exists()
        && Command::new("softhsm2-util")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Prepares a temporary SoftHSM2 token and runs the demo in a child with it.
fn run_with_softhsm() -> Result<ExitCode> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("hsmjwt-demo-")
        .tempdir()
        .context("cannot make a temporary folder")?;
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens)?;
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--so-pin", SO_PIN, "--pin", PIN])
        .env("SOFTHSM2_CONF", &conf)
        .stdin(Stdio::null())
        .output()
        .context("cannot run softhsm2-util")?;
    if !out.status.success() {
        bail!(
            "softhsm2-util --init-token failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    super::out(&format!(
        "0. SoftHSM2    token `{TOKEN}` created in {} ({})",
        dir.path().display(),
        ms(started.elapsed())
    ))?;
    let exe = std::env::current_exe().context("cannot find this program")?;
    let status = Command::new(exe)
        .arg("demo")
        .env(CHILD_ENV, "1")
        .env("SOFTHSM2_CONF", &conf)
        .env("PKCS11_MODULE", MODULE)
        .env("HSMJWT_PIN", PIN)
        .stdin(Stdio::null())
        .status()
        .context("cannot run the demo with the SoftHSM2 token")?;
    let path = dir.path().display().to_string();
    dir.close().context("cannot remove the temporary folder")?;
    if !status.success() {
        bail!("the demo failed ({status})");
    }
    super::out(&format!("   cleaned up: {path} removed"))?;
    Ok(ExitCode::SUCCESS)
}

enum KeyKind {
    Software,
    SoftHsm,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn step(n: u32, what: &str, text: &str, took: Duration) -> Result<()> {
    super::out(&format!("{n}. {what:<12} {text} ({})", ms(took)))
}

/// Makes the key: in the SoftHSM2 token (child process) or in memory.
fn make_key(kind: &KeyKind) -> Result<(Arc<dyn Signer>, String, String)> {
    match kind {
        KeyKind::Software => {
            let key = PrivateKey::generate(KeySpec::Rsa(2048))?;
            let pem = key.public_key().to_spki_pem();
            let signer = SoftSigner::new(key, Some(Algorithm::RS256))?;
            Ok((
                Arc::new(signer),
                pem,
                "RSA 2048 software key, in memory only".into(),
            ))
        }
        KeyKind::SoftHsm => {
            let uri_text = format!("pkcs11:token={TOKEN};object={OBJECT}?module-path={MODULE}");
            let uri: hsmjwt::pkcs11::Pkcs11Uri = uri_text.parse()?;
            let jwk = hsmjwt::key::generate_in_token(&uri, Algorithm::RS256, None)
                .context("cannot generate the key pair in the token")?;
            let pem = PublicKey::from_jwk(&jwk)?.to_spki_pem();
            let signer = super::key_source(&uri_text)?.open_signer(Some(Algorithm::RS256))?;
            Ok((
                Arc::from(signer),
                pem,
                format!("RSA 2048 generated inside the token, not extractable: {uri_text}"),
            ))
        }
    }
}

fn demo(kind: KeyKind) -> Result<ExitCode> {
    let total = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("hsmjwt-demo-files-")
        .tempdir()
        .context("cannot make a temporary folder")?;

    let t = Instant::now();
    let (signer, public_pem, about) = make_key(&kind)?;
    step(1, "key", &about, t.elapsed())?;

    let t = Instant::now();
    let creds_path = scratch.path().join("aem-service-credentials.json");
    let json = serde_json::json!({
        "ok": true,
        "statusCode": 200,
        "integration": {
            "imsEndpoint": "ims-na1.adobelogin.com",
            "metascopes": "ent_aem_cloud_api",
            "technicalAccount": {
                "clientId": "cm-p00000-e00000-demo",
                "clientSecret": format!("p8e-demo-{}", uuid::Uuid::new_v4().simple()),
            },
            "email": "demo-account@techacct.adobe.com",
            "id": "DEMO0000000000000000000@techacct.adobe.com",
            "org": "DEMO0000000000000000000@AdobeOrg",
            "publicKey": public_pem,
        }
    });
    std::fs::write(&creds_path, serde_json::to_vec_pretty(&json)?)?;
    let file = CredentialsFile::load(&creds_path)?;
    let creds = file.service_account()?.clone();
    step(
        2,
        "credentials",
        &format!(
            "AEM-style service credentials without privateKey ({})",
            creds_path.display()
        ),
        t.elapsed(),
    )?;

    let runtime = super::ims::runtime()?;
    runtime.block_on(async {
        let t = Instant::now();
        let config = EmulatorConfig::new().with_integrations(Integration::from_credentials_file(&file)?);
        let emulator = Emulator::start(config).await?;
        step(
            3,
            "emulator",
            &format!("IMS emulator on {}", emulator.base_url()),
            t.elapsed(),
        )?;

        let endpoint = ImsEndpoint::from_host(&creds.ims_host)?.with_base_url(&emulator.base_url())?;
        let client = ImsClient::with_http(
            endpoint,
            super::ims::http(Duration::from_secs(5), Duration::from_secs(10))?,
        );
        let flow = JwtExchange::from_credentials(client, &creds, signer);

        let t = Instant::now();
        let jwt = flow.sign_jwt().await?;
        let took = t.elapsed();
        let decoded = hsmjwt::decode_insecure(&jwt)?;
        step(
            4,
            "JWT",
            &format!("service-account JWT signed {} ({} bytes)", decoded.header.alg, jwt.len()),
            took,
        )?;
        super::out(&format!(
            "   header: {}",
            serde_json::to_string(&decoded.header)?
        ))?;
        super::out(&format!(
            "   claims: {}",
            String::from_utf8(decoded.claims.to_json()?)?
        ))?;

        let t = Instant::now();
        let token = flow.exchange(&jwt).await.context("the exchange failed")?;
        let took = t.elapsed();
        step(
            5,
            "exchange",
            &format!(
                "POST {}/ims/exchange/jwt: {} token, expires_in {} ms = {}, expires at {}",
                emulator.base_url(),
                token.token_type(),
                token.expires_in().as_millis(),
                humantime::format_duration(Duration::from_secs(token.expires_in().as_secs())),
                super::ims::rfc3339(token.expires_at())
            ),
            took,
        )?;
        super::out("   (the access token is a secret: `hsmjwt ims jwt` prints it; the demo does not)")?;

        let cache = TokenCache::new(flow);
        let t = Instant::now();
        cache.get().await?;
        let miss = t.elapsed();
        let t = Instant::now();
        cache.get().await?;
        let hit = t.elapsed();
        let status = cache
            .status()
            .context("the cache holds no token")?;
        step(
            6,
            "cache",
            &format!(
                "first get() exchanged ({}), second get() served from the cache ({:.1} µs); refresh in {}",
                ms(miss),
                hit.as_secs_f64() * 1e6,
                humantime::format_duration(Duration::from_secs(status.refresh_in.as_secs()))
            ),
            miss + hit,
        )?;
        let exchanges = emulator.requests(Endpoint::JwtExchange);
        ensure!(exchanges == 2, "expected 2 exchanges, the emulator saw {exchanges}");
        emulator.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    drop(runtime);
    let path = scratch.path().display().to_string();
    scratch
        .close()
        .context("cannot remove the temporary folder")?;
    super::out(&format!(
        "   done in {}: emulator stopped, {path} removed",
        ms(total.elapsed())
    ))?;
    Ok(ExitCode::SUCCESS)
}
