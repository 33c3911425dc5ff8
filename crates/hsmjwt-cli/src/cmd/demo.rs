//! `hsmjwt demo`: the whole flow, offline. A throwaway RSA key (in a temporary SoftHSM2
//! token when SoftHSM2 is installed), AEM-style service credentials without a private key,
//! a local IMS emulator, a minted service-account JWT, its exchange, the token cache; then
//! everything is cleaned up.
//!
//! SoftHSM reads `SOFTHSM2_CONF` from the environment, which a process may not set for
//! itself without `unsafe`: the HSM part runs in a child process of this same binary, with
//! the variable set (`hsmjwt_testkit`'s SoftHSM2 fixture: the token folder, the token, the
//! child, the clean-up).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use hsmjwt::ims::{CredentialsFile, ImsClient, ImsEndpoint, JwtExchange};
use hsmjwt::oauth::TokenCache;
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner};
use hsmjwt::{Algorithm, Signer};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Integration};
use hsmjwt_testkit::secrecy::ExposeSecret as _;
use hsmjwt_testkit::softhsm::{Builder, Installation, Rerun, SoftHsm};

const TOKEN: &str = "hsmjwt-demo";
const OBJECT: &str = "demo-ims-key";

/// Arguments of `hsmjwt demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Use a software key even when SoftHSM2 is installed.
    #[arg(long)]
    software_key: bool,
}

pub(crate) fn run(a: &DemoArgs) -> Result<ExitCode> {
    let installation = Installation::detect();
    let spec = Builder::new(installation.clone())
        .prefix("hsmjwt-demo-")
        .token(TOKEN);
    if let Some(hsm) = spec.attach()? {
        return demo(KeyKind::SoftHsm(hsm));
    }
    if !a.software_key && installation.has_softhsm() {
        return run_with_softhsm(&spec);
    }
    if !a.software_key {
        eprintln!(
            "note: SoftHSM2 is not installed ({} and softhsm2-util): using a software key",
            installation.module().display()
        );
    }
    demo(KeyKind::Software)
}

/// Prepares a temporary SoftHSM2 token and runs the demo in a child with it.
fn run_with_softhsm(spec: &Builder) -> Result<ExitCode> {
    let started = Instant::now();
    let hsm = spec
        .build()
        .context("cannot prepare a temporary SoftHSM2 token")?;
    super::out(&format!(
        "0. SoftHSM2    token `{TOKEN}` created in {} ({})",
        hsm.root().display(),
        ms(started.elapsed())
    ))?;
    let status = hsm
        .rerun(&Rerun::with_args(["demo"]).env("HSMJWT_PIN", hsm.pin().expose_secret()))
        .context("cannot run the demo with the SoftHSM2 token")?;
    let path = hsm.root().display().to_string();
    hsm.close().context("cannot remove the temporary folder")?;
    if !status.success() {
        bail!("the demo failed ({status})");
    }
    super::out(&format!("   cleaned up: {path} removed"))?;
    Ok(ExitCode::SUCCESS)
}

enum KeyKind {
    Software,
    /// In the child, with the token's environment.
    SoftHsm(SoftHsm),
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
        KeyKind::SoftHsm(hsm) => {
            let uri_text = format!(
                "pkcs11:token={TOKEN};object={OBJECT}?module-path={}",
                hsm.module().display()
            );
            let uri: hsmjwt::pkcs11::Pkcs11Uri = uri_text.parse()?;
            let jwk = hsm
                .generate_key(TOKEN, OBJECT, |key| {
                    let uri = uri.clone().with_pin_value(key.pin().clone());
                    hsmjwt::pkcs11::generate_key_pair(&uri, Algorithm::RS256, None)
                })
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
                token
                    .expires_at()
                    .and_then(super::ims::rfc3339)
                    .unwrap_or_else(|| "(not expressible)".to_owned())
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
