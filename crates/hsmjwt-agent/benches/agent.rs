//! The agent's overhead, measured against what it wraps.
//!
//! Groups:
//! - `agent-token`: `agent`, a cached access token asked over the agent's Unix socket
//!   (`GET /v1/tokens/NAME`), against `axum-constant`, a minimal axum handler answering a
//!   constant of the same size on the same kind of socket; one request per connection for
//!   both (the client of `hsmjwt agent token`). Target: at least 0.7x.
//! - `agent-sign`: `agent`, `POST /v1/sign/PROFILE` with a SoftHSM2 RSA key (RS256) on one
//!   session (`sessions = 1`), asked by two clients at once (each one request at a time on
//!   a connection it keeps, as an application asking often does), against `hsmjwt-bench`, the same key and claims signed
//!   in-process on one thread as `hsmjwt bench --threads 1` does (`hsmjwt::encode`): the
//!   same key and number of signing threads. Target: at least 0.85x. Beside it,
//!   `agent-1-client`: a single client, one request at a time on a connection of its own
//!   (as `hsmjwt agent sign`), so that the key waits for each round trip (no target: what a
//!   lone caller sees).
//!
//! Needs the SoftHSM2 token of `cargo xtask bench` (`PKCS11_MODULE`, `HSMJWT_PIN`,
//! `HSMJWT_BENCH_TOKEN`, key `bench-rsa`); without it the groups are skipped (unless
//! `HSMJWT_BENCH_REQUIRE=1`). The token comes from the IMS emulator on 127.0.0.1, fetched
//! once before the measurement (then it is cached).

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

#[path = "../../../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hsmjwt::key::{KeySource, OpenOptions};
use hsmjwt::{Algorithm, Header, Signer};
use hsmjwt_agent::client::{Connection, Method, request};
use hsmjwt_agent::server::Control;
use hsmjwt_agent::{Agent, AgentOptions, Config};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Integration};
use serde_json::json;

struct Env {
    module: PathBuf,
    token: String,
    pin: String,
}

fn env() -> Option<Env> {
    let Some(module) = std::env::var_os("PKCS11_MODULE").filter(|m| !m.is_empty()) else {
        let msg = "PKCS11_MODULE is not set: the agent benchmarks are skipped \
                   (`cargo xtask bench` prepares a SoftHSM2 token and sets it)";
        assert!(!common::required(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return None;
    };
    Some(Env {
        module: PathBuf::from(module),
        token: std::env::var("HSMJWT_BENCH_TOKEN").unwrap_or_else(|_| "hsmjwt-bench".into()),
        pin: std::env::var("HSMJWT_PIN").expect("HSMJWT_PIN is set with PKCS11_MODULE"),
    })
}

/// `n` requests split over `clients` clients at once, each on one connection it keeps
/// (`client::Connection`) and sending one request at a time; the time they took.
async fn concurrent(
    socket: &Path,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    n: u64,
    clients: u64,
) -> Duration {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let share = n / clients + u64::from(c < n % clients);
        let (mut connection, method, path, body) = (
            Connection::new(socket),
            method.clone(),
            path.to_owned(),
            body.cloned(),
        );
        set.spawn(async move {
            for _ in 0..share {
                let reply = connection
                    .request(method.clone(), &path, body.as_ref())
                    .await
                    .unwrap();
                assert_eq!(reply.status, 200);
                black_box(reply);
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    start.elapsed()
}

/// `n` sequential requests, each on its own connection; the time they took.
async fn requests(
    socket: &Path,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    n: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let reply = request(socket, method.clone(), path, body).await.unwrap();
        assert_eq!(reply.status, 200);
        black_box(reply);
    }
    start.elapsed()
}

fn agent(c: &mut Criterion) {
    let Some(env) = env() else { return };
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = format!(
        "pkcs11:token={};object=bench-rsa?module-path={}&pin-value={}",
        env.token,
        env.module.display(),
        env.pin
    );
    let source: KeySource = key.parse().unwrap();
    let public = hsmjwt::soft::PublicKey::from_jwk(&source.public_key().unwrap())
        .unwrap()
        .to_spki_pem();
    let creds = dir.path().join("aem.json");
    std::fs::write(
        &creds,
        hsmjwt_testkit::aem::AemAccount {
            client_id: "bench-client",
            client_secret: "p8e-bench",
            email: "bench@techacct.adobe.com",
            id: "BENCH@techacct.adobe.com",
            org: "BENCH@AdobeOrg",
            public_key: &public,
            ..hsmjwt_testkit::aem::AemAccount::example()
        }
        .to_json(),
    )
    .unwrap();
    let file = hsmjwt::ims::CredentialsFile::load(&creds).unwrap();
    let emu = runtime
        .block_on(Emulator::start(EmulatorConfig::new().with_integrations(
            Integration::from_credentials_file(&file).unwrap(),
        )))
        .unwrap();
    let socket = dir.path().join("agent.sock");
    let text = format!(
        "[listen]\nunix = \"{}\"\n[keys.k]\nkey = \"{}\"\nsessions = 1\n[tokens.aem]\nsource = \"ims-jwt\"\n\
         credentials = \"{}\"\nkey = \"k\"\nims_url = \"{}\"\n[profiles.service]\nkey = \"k\"\n\
         iss = \"{}\"\naudiences = [\"{}\"]\nmax_ttl = \"5m\"\n",
        socket.display(),
        key,
        creds.display(),
        emu.base_url(),
        common::ISS,
        common::AUD,
    );
    let config = Config::parse(&text).unwrap();
    let listening = runtime
        .block_on(
            Agent::build(&config, &AgentOptions::default())
                .unwrap()
                .bind(),
        )
        .unwrap();
    let (control, rx) = tokio::sync::mpsc::channel(1);
    let server = runtime.spawn(listening.serve(rx, Duration::from_secs(5)));

    // The reference: a constant as large as the token answer, on a socket of its own.
    let constant_socket = dir.path().join("constant.sock");
    let first = runtime.block_on(async {
        request(&socket, Method::GET, "/v1/tokens/aem", None)
            .await
            .unwrap()
    });
    assert_eq!(first.status, 200);
    let constant = first.body.clone();
    let constant_server = runtime.spawn({
        let listener =
            runtime.block_on(async { tokio::net::UnixListener::bind(&constant_socket).unwrap() });
        let app = axum::Router::new().route(
            "/v1/tokens/aem",
            axum::routing::get(move || {
                let body = constant.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        );
        async move { axum::serve(listener, app).await }
    });

    // The clients run on a runtime of their own, one thread, as `hsmjwt agent token` and
    // `hsmjwt agent sign` do (and as another process would): the servers' two workers
    // serve only the servers.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = |n: u64| client.block_on(requests(&socket, Method::GET, "/v1/tokens/aem", None, n));
    let reference = |n: u64| {
        client.block_on(requests(
            &constant_socket,
            Method::GET,
            "/v1/tokens/aem",
            None,
            n,
        ))
    };
    let mut group = c.benchmark_group("agent-token");
    group.bench_function("agent", |b| b.iter_custom(ours));
    group.bench_function("axum-constant", |b| b.iter_custom(reference));
    group.finish();
    common::paired(
        "agent-token",
        vec![
            ("agent", Box::new(ours)),
            ("axum-constant", Box::new(reference)),
        ],
    );

    // Signing: the agent against the same key used in-process.
    let body = json!({"sub": common::SUB, "aud": common::AUD, "ttl": "60s"});
    let signer = source
        .open(&OpenOptions {
            algorithm: Some(Algorithm::RS256),
            pool_size: Some(1),
            ..OpenOptions::default()
        })
        .unwrap();
    let header = Header::jwt(signer.algorithm());
    let claims = common::claims();
    let ours = |n: u64| {
        client.block_on(concurrent(
            &socket,
            Method::POST,
            "/v1/sign/service",
            Some(&body),
            n,
            2,
        ))
    };
    let lone = |n: u64| {
        client.block_on(requests(
            &socket,
            Method::POST,
            "/v1/sign/service",
            Some(&body),
            n,
        ))
    };
    let in_process = common::timed(|| hsmjwt::encode(&header, &claims, &*signer).unwrap());
    let mut in_process = in_process;
    let mut group = c.benchmark_group("agent-sign");
    group.sample_size(20);
    group.bench_function("agent", |b| b.iter_custom(ours));
    group.bench_function("agent-1-client", |b| b.iter_custom(lone));
    group.bench_function("hsmjwt-bench", |b| b.iter_custom(&mut in_process));
    group.finish();
    common::paired_with(
        "agent-sign",
        common::PAIRED_HSM,
        vec![
            ("agent", Box::new(ours)),
            ("agent-1-client", Box::new(lone)),
            ("hsmjwt-bench", Box::new(in_process)),
        ],
    );

    runtime.block_on(async {
        control.send(Control::Stop).await.unwrap();
        server.await.unwrap().unwrap();
        constant_server.abort();
        emu.shutdown().await;
    });
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = agent
}
criterion_main!(benches);
