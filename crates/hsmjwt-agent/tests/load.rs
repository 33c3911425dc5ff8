//! A bounded load test of the agent with a SoftHSM2 key: 50 concurrent clients ask for
//! tokens and signatures for 10 s while the IMS emulator fails the token refresh for a while
//! and every PKCS#11 session under the agent is closed (`C_CloseAllSessions`): no token
//! request fails while a valid token exists, signatures fail at most while their session is
//! being reopened, every signature handed out verifies; the counts are printed.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, so the test runs itself again in a child
//! with the token's environment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hsmjwt::core::{Jwks, Validation, decode_with_keys};
use hsmjwt::ims::CredentialsFile;
use hsmjwt::key::KeySource;
use hsmjwt::oauth::CacheOptions;
use hsmjwt_agent::AgentOptions;
use hsmjwt_agent::client::{Method, request};
use hsmjwt_agent::server::Control;
use hsmjwt_emulator::{Emulator, EmulatorConfig, Fault, Integration};
use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};
use serde_json::json;

mod common;

const TOKEN: &str = "agent-load";

#[test]
fn fifty_clients_through_refresh_failures_and_lost_sessions() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "k", "01", "rsa:2048")
        .run_in_child(
            "fifty_clients_through_refresh_failures_and_lost_sessions",
            |_, rerun| rerun,
            child,
        )
        .unwrap();
}

fn child(hsm: &SoftHsm) {
    let dir = tempfile::tempdir().unwrap();
    let key = common::hsm_key(hsm, TOKEN, "k", hsm.module(), dir.path());
    let jwk = key.parse::<KeySource>().unwrap().public_key().unwrap();
    let public_pem = hsmjwt::soft::PublicKey::from_jwk(&jwk)
        .unwrap()
        .to_spki_pem();
    let creds = dir.path().join("aem.json");
    std::fs::write(
        &creds,
        hsmjwt_testkit::aem::AemAccount {
            client_id: "load-client",
            client_secret: "p8e-load-secret",
            email: "load@techacct.adobe.com",
            id: "LOAD0000@techacct.adobe.com",
            org: "LOAD0000@AdobeOrg",
            public_key: &public_pem,
            ..hsmjwt_testkit::aem::AemAccount::example()
        }
        .to_json(),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let file = CredentialsFile::load(&creds).unwrap();
        // Tokens live 8 s and are refreshed 4 s before expiry: a refresh falls in the run.
        let emu = Emulator::start(
            EmulatorConfig::new()
                .with_integrations(Integration::from_credentials_file(&file).unwrap())
                .with_jwt_token_lifetime(Duration::from_secs(8))
                .unwrap(),
        )
        .await
        .unwrap();
        let socket = dir.path().join("agent.sock");
        let text = format!(
            r#"[listen]
unix = "{socket}"
[keys.k]
key = "{key}"
[tokens.aem]
source = "ims-jwt"
credentials = "{creds}"
key = "k"
ims_url = "{ims}"
[profiles.service]
key = "k"
iss = "https://idp.example"
audiences = ["adobe"]
max_ttl = "5m"
kid = "thumbprint"
"#,
            socket = socket.display(),
            creds = creds.display(),
            ims = emu.base_url(),
        );
        let options = AgentOptions::default()
            .with_cache(
                CacheOptions::default()
                    .with_margin(Duration::from_secs(4))
                    .with_retry_delay(Duration::from_secs(1)),
            );
        let (control, server) = common::start(&text, &options).await;
        // The first token, fetched before the load starts.
        let first = request(&socket, Method::GET, "/v1/tokens/aem", None).await.unwrap();
        assert_eq!(first.status, 200);
        let jwks = Jwks::from_json(
            &request(&socket, Method::GET, "/v1/jwks", None).await.unwrap().body,
        )
        .unwrap();

        let tokens_ok = Arc::new(AtomicU64::new(0));
        let tokens_failed = Arc::new(AtomicU64::new(0));
        let signs_failed = Arc::new(AtomicU64::new(0));
        let signed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let started = Instant::now();
        let run = Duration::from_secs(10);
        let mut clients = Vec::new();
        for c in 0..50 {
            let (socket, tokens_ok, tokens_failed, signs_failed, signed) = (
                socket.clone(),
                tokens_ok.clone(),
                tokens_failed.clone(),
                signs_failed.clone(),
                signed.clone(),
            );
            clients.push(tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < run {
                    n += 1;
                    if (n + c).is_multiple_of(2) {
                        let r = request(&socket, Method::GET, "/v1/tokens/aem", None).await.unwrap();
                        if r.status == 200 {
                            tokens_ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tokens_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        let body = json!({"sub": format!("client-{c}-{n}"), "aud": "adobe", "ttl": "60s"});
                        let r = request(&socket, Method::POST, "/v1/sign/service", Some(&body))
                            .await
                            .unwrap();
                        if r.status == 200 {
                            let token = r.json().unwrap()["token"].as_str().unwrap().to_owned();
                            signed.lock().unwrap().push(token);
                        } else {
                            signs_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        // At 2 s the emulator fails the next 4 token requests (one refresh with its retries),
        // the refresh due at 4 s; at 5 s every PKCS#11 session of the process is closed.
        tokio::time::sleep(Duration::from_secs(2)).await;
        emu.push_faults(4, &Fault::status(503));
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ctx = hsmjwt::pkcs11::shared_context(hsm.module()).unwrap();
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == TOKEN))
            .unwrap();
        hsmjwt_testkit::close_all_sessions(hsm.module(), slot.id()).unwrap();
        for c in clients {
            c.await.unwrap();
        }
        let metrics = String::from_utf8(
            request(&socket, Method::GET, "/metrics", None).await.unwrap().body.to_vec(),
        )
        .unwrap();
        control.send(Control::Stop).await.unwrap();
        server.await.unwrap().unwrap();

        let signed = signed.lock().unwrap().clone();
        let verifiers: Vec<hsmjwt::soft::SoftVerifier> = jwks
            .keys
            .iter()
            .map(|k| hsmjwt::soft::SoftVerifier::from_jwk(k, None).unwrap())
            .collect();
        let validation = Validation::new()
            .with_issuer("https://idp.example")
            .with_audience("adobe");
        for token in &signed {
            decode_with_keys(
                token,
                verifiers.iter().map(|v| v as &dyn hsmjwt::core::Verifier),
                &validation,
            )
            .unwrap_or_else(|e| panic!("a signature handed out does not verify: {e}"));
        }
        let refresh_failures = metrics
            .lines()
            .find(|l| l.starts_with("hsmjwt_agent_refresh_failures_total{"))
            .unwrap_or("none");
        // The sessions closed under the agent were replaced, and counted.
        let recoveries = metrics
            .lines()
            .find(|l| l.starts_with("hsmjwt_agent_hsm_recoveries_total{") && l.contains("kind=\"session\""))
            .unwrap_or("none");
        println!(
            "50 clients, 10 s: {} tokens served, {} token requests failed; {} JWTs signed and verified, {} sign requests failed; emulator faults left {}; {refresh_failures}; {recoveries}",
            tokens_ok.load(Ordering::Relaxed),
            tokens_failed.load(Ordering::Relaxed),
            signed.len(),
            signs_failed.load(Ordering::Relaxed),
            emu.pending_faults(),
        );
        assert_eq!(emu.pending_faults(), 0, "the refresh did not meet the faults");
        assert!(refresh_failures.ends_with(" 1") || refresh_failures.ends_with(" 2"), "{metrics}");
        assert_eq!(tokens_failed.load(Ordering::Relaxed), 0, "a token request failed while a valid token existed");
        // At most the requests in flight on the closed sessions fail (the pool has one
        // session per CPU).
        let in_flight = std::thread::available_parallelism().map_or(2, usize::from) as u64;
        assert!(signs_failed.load(Ordering::Relaxed) <= in_flight, "{} sign requests failed", signs_failed.load(Ordering::Relaxed));
        assert!(signed.len() > 100, "too few signatures: {}", signed.len());
        let replaced: u64 = recoveries.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
        assert!((1..=in_flight).contains(&replaced), "session recoveries: {recoveries}\n{metrics}");
        assert!(!metrics.contains("kind=\"module\""), "no module was lost: {metrics}");
        emu.shutdown().await;
    });
}
