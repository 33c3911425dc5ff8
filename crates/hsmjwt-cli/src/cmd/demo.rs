//! `hsmjwt demo`: the whole flow, offline. A throwaway RSA key (in a temporary SoftHSM2
//! token when SoftHSM2 is installed), AEM-style service credentials without a private key,
//! a local IMS emulator, a minted service-account JWT, its exchange, the token cache; then
//! everything is cleaned up.
//!
//! SoftHSM reads `SOFTHSM2_CONF` from the environment, which a process may not set for
//! itself without `unsafe`: the HSM part runs in a child process of this same binary, with
//! the variable set (`hsmjwt_testkit`'s SoftHSM2 fixture: the token folder, the token, the
//! child, the clean-up).
//!
//! Folders are 0700 and files 0600. Ctrl-C or SIGTERM at any step removes them: a thread
//! of each process ([`Interrupt`]) waits for the signal, then stops the child, removes the
//! folders registered so far and exits with 130 (143 for SIGTERM). The child's folder is
//! inside the parent's, so the parent's removal covers a child it had to kill. A folder is
//! made and registered, and later removed and unregistered, under the same lock, so that
//! an interruption never finds one half done.
//!
//! Test hook (not in `--help`): with `HSMJWT_DEMO_PAUSE` set, the demo stops after writing
//! the credentials file, says so and waits for a signal.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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

/// The test hook's variable: pause after the credentials step.
const PAUSE_ENV: &str = "HSMJWT_DEMO_PAUSE";

pub(crate) fn run(a: &DemoArgs) -> Result<ExitCode> {
    let interrupt = Interrupt::watch()?;
    let result = run_demo(a, &interrupt);
    // An interrupted demo ends in the signal's thread, which removes what was made; a step
    // that failed because of the interruption must not end it first with another status.
    interrupt.wait_if_interrupted();
    result
}

fn run_demo(a: &DemoArgs, interrupt: &Interrupt) -> Result<ExitCode> {
    let installation = Installation::detect();
    let spec = Builder::new(installation.clone())
        .prefix("hsmjwt-demo-")
        .token(TOKEN);
    if let Some(hsm) = spec.attach()? {
        let root = hsm.root().to_owned();
        return demo(KeyKind::SoftHsm(hsm), &root, interrupt);
    }
    if !a.software_key && installation.has_softhsm() {
        return run_with_softhsm(&spec, interrupt);
    }
    if !a.software_key {
        eprintln!(
            "note: SoftHSM2 is not installed ({} and softhsm2-util): using a software key",
            installation.module().display()
        );
    }
    demo(KeyKind::Software, &std::env::temp_dir(), interrupt)
}

/// Prepares a temporary SoftHSM2 token and runs the demo in a child with it.
fn run_with_softhsm(spec: &Builder, interrupt: &Interrupt) -> Result<ExitCode> {
    let started = Instant::now();
    let hsm = {
        let mut undo = interrupt.undo();
        let hsm = spec
            .build()
            .context("cannot prepare a temporary SoftHSM2 token")?;
        undo.folders.push(hsm.root().to_owned());
        hsm
    };
    super::out(&format!(
        "0. SoftHSM2    token `{TOKEN}` created in {} ({})",
        hsm.root().display(),
        ms(started.elapsed())
    ))?;
    let child = hsm
        .rerun_command(&Rerun::with_args(["demo"]).env("HSMJWT_PIN", hsm.pin().expose_secret()))?
        .spawn()
        .context("cannot run the demo with the SoftHSM2 token")?;
    let status = interrupt.wait_for(child)?;
    let path = hsm.root().display().to_string();
    {
        let mut undo = interrupt.undo();
        hsm.close().context("cannot remove the temporary folder")?;
        undo.folders.clear();
    }
    // The child ended by its own Ctrl-C or SIGTERM (it removed its files): so does this one.
    if let Some(code @ (130 | 143)) = status.code() {
        eprintln!("interrupted: {path} removed");
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(130)));
    }
    if !status.success() {
        bail!("the demo failed ({status})");
    }
    super::out(&format!("   cleaned up: {path} removed"))?;
    Ok(ExitCode::SUCCESS)
}

/// What an interrupted demo must undo, and the thread that undoes it.
struct Interrupt {
    undo: Arc<Mutex<Undo>>,
    interrupted: Arc<AtomicBool>,
}

/// Made so far and not yet removed.
#[derive(Default)]
struct Undo {
    /// The child demo (SoftHSM2 mode), killed first.
    child: Option<Child>,
    /// Folders to remove, with all they hold.
    folders: Vec<PathBuf>,
}

impl Interrupt {
    /// Starts the thread that waits for Ctrl-C or SIGTERM; returns once it listens.
    fn watch() -> Result<Self> {
        let undo = Arc::new(Mutex::new(Undo::default()));
        let interrupted = Arc::new(AtomicBool::new(false));
        let (ready, listening) = std::sync::mpsc::channel();
        let (thread_undo, flag) = (undo.clone(), interrupted.clone());
        std::thread::Builder::new()
            .name("demo-signals".into())
            .spawn(move || {
                let watching = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the signal runtime")
                    .and_then(|rt| {
                        let signals = {
                            let _in_runtime = rt.enter();
                            super::signals::Signals::listen()?
                        };
                        Ok((rt, signals))
                    });
                let (rt, mut signals) = match watching {
                    Ok(w) => {
                        let _ = ready.send(Ok(()));
                        w
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let Ok(caught) = rt.block_on(signals.recv()) else {
                    return;
                };
                flag.store(true, Ordering::SeqCst);
                let removed = lock(&thread_undo).undo();
                if removed.is_empty() {
                    eprintln!("interrupted");
                } else {
                    eprintln!("interrupted: {} removed", removed.join(", "));
                }
                std::process::exit(i32::from(caught.exit_code()));
            })
            .context("cannot start the signal thread")?;
        listening.recv().context("the signal thread stopped")??;
        Ok(Interrupt { undo, interrupted })
    }

    /// The list of things to undo, locked: a signal's clean-up waits until it is released.
    fn undo(&self) -> MutexGuard<'_, Undo> {
        lock(&self.undo)
    }

    /// Waits for `child`, which a signal kills first.
    fn wait_for(&self, child: Child) -> Result<std::process::ExitStatus> {
        self.undo().child = Some(child);
        loop {
            {
                let mut undo = self.undo();
                let child = undo.child.as_mut().context("the child demo is gone")?;
                if let Some(status) = child.try_wait().context("cannot wait for the child demo")? {
                    undo.child = None;
                    return Ok(status);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Once a signal came, never returns: the signal's thread ends the process.
    fn wait_if_interrupted(&self) {
        while self.interrupted.load(Ordering::SeqCst) {
            std::thread::park();
        }
    }
}

impl Undo {
    /// Kills the child, removes the folders; returns those removed.
    fn undo(&mut self) -> Vec<String> {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.folders
            .drain(..)
            .filter(|f| std::fs::remove_dir_all(f).is_ok())
            .map(|f| f.display().to_string())
            .collect()
    }
}

/// The lock, also after a thread panicked holding it (what to undo is still right).
fn lock(undo: &Mutex<Undo>) -> MutexGuard<'_, Undo> {
    undo.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A private temporary folder (0700) in `parent`, registered for removal on a signal.
fn scratch_folder(parent: &Path, interrupt: &Interrupt) -> Result<tempfile::TempDir> {
    let mut undo = interrupt.undo();
    let mut builder = tempfile::Builder::new();
    builder.prefix("hsmjwt-demo-files-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let scratch = builder
        .tempdir_in(parent)
        .context("cannot make a temporary folder")?;
    undo.folders.push(scratch.path().to_owned());
    Ok(scratch)
}

/// Writes a new file readable by its owner only (0600).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
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

/// The demo; its files go to a new folder in `parent` (in SoftHSM2 mode, the parent
/// process's token folder).
fn demo(kind: KeyKind, parent: &Path, interrupt: &Interrupt) -> Result<ExitCode> {
    let total = Instant::now();
    let scratch = scratch_folder(parent, interrupt)?;

    let t = Instant::now();
    let (signer, public_pem, about) = make_key(&kind)?;
    step(1, "key", &about, t.elapsed())?;

    let t = Instant::now();
    let creds_path = scratch.path().join("aem-service-credentials.json");
    let secret = format!("p8e-demo-{}", uuid::Uuid::new_v4().simple());
    let json = hsmjwt_testkit::aem::AemAccount {
        client_id: "cm-p00000-e00000-demo",
        client_secret: &secret,
        email: "demo-account@techacct.adobe.com",
        id: "DEMO0000000000000000000@techacct.adobe.com",
        org: "DEMO0000000000000000000@AdobeOrg",
        public_key: &public_pem,
        ..hsmjwt_testkit::aem::AemAccount::example()
    }
    .to_value();
    write_private(&creds_path, &serde_json::to_vec_pretty(&json)?)?;
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
    if std::env::var_os(PAUSE_ENV).is_some() {
        super::out(&format!(
            "   paused ({PAUSE_ENV} is set) in {}: waiting for Ctrl-C",
            scratch.path().display()
        ))?;
        loop {
            std::thread::park();
        }
    }

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
    {
        let mut undo = interrupt.undo();
        scratch
            .close()
            .context("cannot remove the temporary folder")?;
        undo.folders.clear();
    }
    super::out(&format!(
        "   done in {}: emulator stopped, {path} removed",
        ms(total.elapsed())
    ))?;
    Ok(ExitCode::SUCCESS)
}
