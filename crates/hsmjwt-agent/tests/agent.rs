//! The agent over its Unix socket, with the test's own HTTP client (`hsmjwt_agent::client`),
//! against the IMS emulator on 127.0.0.1, with a software key: both kinds of token source,
//! signing within and outside the policy, the JWKS, health, metrics, peer credentials, a
//! stale and a live socket, and the stop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use hsmjwt::core::{Jwks, Validation, decode_with_keys};
use hsmjwt_agent::client::{Method, Reply, request};
use hsmjwt_agent::server::Control;
use hsmjwt_agent::{Agent, Config};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Integration};
use serde_json::{Value, json};

mod common;

fn config_text(dir: &Path, socket: &Path, emu: &Emulator, extra_listen: &str) -> String {
    format!(
        r#"
[listen]
unix = "{socket}"
{extra_listen}

[keys.k]
key = "{key}"

[tokens.aem]
source = "ims-jwt"
credentials = "{creds}"
key = "k"
ims_url = "{ims}"

[tokens.api]
source = "oauth"
token_endpoint = "{token_endpoint}"
client_id = "agent-client"
key = "k"
scope = "read"

[profiles.service]
key = "k"
iss = "https://idp.example"
audiences = ["adobe"]
max_ttl = "5m"
claims = ["name"]
kid = "thumbprint"
"#,
        socket = socket.display(),
        key = dir.join("key.pem").display(),
        creds = dir.join("creds.json").display(),
        ims = emu.base_url(),
        token_endpoint = emu.token_endpoint(),
    )
}

/// A software RSA key and AEM-style credentials for it, in `dir`.
fn key_and_credentials(dir: &Path) -> hsmjwt_ims_creds::Creds {
    hsmjwt_ims_creds::write(dir)
}

/// A temporary folder with a software key (`key.pem`) and its credentials (`creds.json`),
/// and the IMS emulator that knows them.
async fn setup() -> (tempfile::TempDir, Emulator) {
    let dir = tempfile::tempdir().unwrap();
    let creds = key_and_credentials(dir.path());
    let emu = Emulator::start(
        EmulatorConfig::new()
            .with_integration(Integration::from_service_account(&creds.service).unwrap()),
    )
    .await
    .unwrap();
    (dir, emu)
}

mod hsmjwt_ims_creds {
    use std::path::Path;

    use hsmjwt::ims::{CredentialsFile, ServiceAccountCredentials};
    use hsmjwt::soft::{KeySpec, PrivateKey};

    pub(super) struct Creds {
        pub(super) service: ServiceAccountCredentials,
    }

    pub(super) fn write(dir: &Path) -> Creds {
        let key = PrivateKey::generate(KeySpec::Rsa(2048)).unwrap();
        std::fs::write(dir.join("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let json = hsmjwt_testkit::aem::AemAccount {
            client_id: "agent-client",
            client_secret: "p8e-agent-test-secret",
            email: "agent@techacct.adobe.com",
            id: "AGENT000@techacct.adobe.com",
            org: "AGENT000@AdobeOrg",
            public_key: &key.public_key().to_spki_pem(),
            ..hsmjwt_testkit::aem::AemAccount::example()
        }
        .to_json();
        let path = dir.join("creds.json");
        std::fs::write(&path, json).unwrap();
        let file = CredentialsFile::load(&path).unwrap();
        Creds {
            service: file.service_account().unwrap().clone(),
        }
    }
}

async fn get(socket: &Path, path: &str) -> Reply {
    request(socket, Method::GET, path, None).await.unwrap()
}

async fn sign(socket: &Path, body: &Value) -> Reply {
    request(socket, Method::POST, "/v1/sign/service", Some(body))
        .await
        .unwrap()
}

/// Starts the agent of `text` with the default options ([`common::start`]).
async fn start(text: &str) -> common::Running {
    common::start(text, &hsmjwt_agent::AgentOptions::default()).await
}

fn build(text: &str) -> Agent {
    let config = Config::parse(text).unwrap();
    Agent::build(&config, &hsmjwt_agent::AgentOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_serves_tokens_and_signs_under_its_policy() {
    let (dir, emu) = setup().await;
    let socket: PathBuf = dir.path().join("agent.sock");
    // A stale socket file from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let text = config_text(dir.path(), &socket, &emu, "");
    let (control, task) = start(&text).await;
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o660
    );

    // A second agent on the same socket is refused while the first listens.
    let (_keep, idle) = tokio::sync::mpsc::channel(1);
    let e = build(&text)
        .serve(idle, Duration::from_secs(1))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("another agent listens on it"), "{e}");

    // Tokens from both sources, not cached by HTTP caches.
    for name in ["aem", "api"] {
        let reply = get(&socket, &format!("/v1/tokens/{name}")).await;
        let body = reply.ok_json().unwrap();
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
        assert!(!body["access_token"].as_str().unwrap().is_empty(), "{body}");
        assert!(body["expires_in"].as_u64().unwrap() > 0, "{body}");
        assert_eq!(
            body["token_type"].as_str().unwrap().to_ascii_lowercase(),
            "bearer"
        );
    }
    let reply = get(&socket, "/v1/tokens/nope").await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.json().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("no token `nope`")
    );

    // A JWT within the policy verifies with the agent's JWKS.
    let reply = sign(
        &socket,
        &json!({"sub": "svc", "aud": "adobe", "ttl": "60s", "claims": {"name": "n"}}),
    )
    .await;
    let token = reply.ok_json().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
    let jwks = Jwks::from_json(&get(&socket, "/v1/jwks").await.body).unwrap();
    let verifiers: Vec<hsmjwt::soft::SoftVerifier> = jwks
        .keys
        .iter()
        .map(|k| hsmjwt::soft::SoftVerifier::from_jwk(k, None).unwrap())
        .collect();
    let checked = decode_with_keys(
        &token,
        verifiers.iter().map(|v| v as &dyn hsmjwt::core::Verifier),
        &Validation::new()
            .with_issuer("https://idp.example")
            .with_audience("adobe"),
    )
    .unwrap();
    let claims = serde_json::to_value(&checked.claims).unwrap();
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["name"], "n");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // Outside the policy: 403 naming the field; malformed: 400; too large: 413.
    for (body, field) in [
        (json!({"sub": "svc", "aud": "evil"}), "aud"),
        (json!({"sub": "svc", "aud": "adobe", "ttl": "10m"}), "ttl"),
        (
            json!({"sub": "svc", "aud": "adobe", "claims": {"role": "admin"}}),
            "claims.role",
        ),
        (
            json!({"sub": "svc", "aud": "adobe", "claims": {"iss": "me"}}),
            "claims.iss",
        ),
    ] {
        let reply = sign(&socket, &body).await;
        assert_eq!(reply.status, 403, "{body}");
        assert_eq!(reply.json().unwrap()["field"], field);
    }
    let reply = sign(&socket, &json!({"subject": "svc"})).await;
    assert_eq!(reply.status, 400);
    let reply = sign(&socket, &json!({"sub": "x".repeat(20_000), "aud": "adobe"})).await;
    assert_eq!(reply.status, 413);

    // Health and metrics.
    let reply = get(&socket, "/healthz").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let metrics = String::from_utf8(get(&socket, "/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains(r#"hsmjwt_agent_signatures_total{profile="service",result="ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hsmjwt_agent_signatures_total{profile="service",result="refused"} 4"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hsmjwt_agent_tokens_served_total{token="aem"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("hsmjwt_agent_sign_duration_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hsmjwt_agent_exchanges_total{token="aem",result="ok"} 1"#),
        "{metrics}"
    );

    // A reload swaps the profiles at once: the new max_ttl applies to the next request;
    // a failed reload is counted and changes nothing.
    control
        .send(Control::Reload(Box::new(build(
            &text.replace("max_ttl = \"5m\"", "max_ttl = \"20m\""),
        ))))
        .await
        .unwrap();
    let body = json!({"sub": "svc", "aud": "adobe", "ttl": "10m"});
    let mut reloaded = false;
    for _ in 0..100 {
        if sign(&socket, &body).await.status == 200 {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reloaded, "the reloaded max_ttl was not applied");
    control
        .send(Control::ReloadFailed("test".into()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sign(&socket, &body).await.status, 200);
    let metrics = String::from_utf8(get(&socket, "/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains(r#"hsmjwt_agent_reloads_total{result="failed"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hsmjwt_agent_reloads_total{result="ok"} 1"#),
        "{metrics}"
    );

    // Stopped: the socket is gone.
    control.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();
    assert!(!socket.exists());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_not_allowed_are_refused() {
    let (dir, emu) = setup().await;
    let socket = dir.path().join("agent.sock");
    // This process's uid is not the one allowed.
    let me = std::fs::metadata(dir.path())
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    let text = config_text(
        dir.path(),
        &socket,
        &emu,
        &format!("allow_uids = [{}]", me + 1),
    );
    let (stop, task) = start(&text).await;
    let reply = get(&socket, "/v1/tokens/aem").await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json().unwrap()["error"], "peer_refused");
    let metrics = String::from_utf8(get(&socket, "/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("hsmjwt_agent_peers_refused_total 1"),
        "{metrics}"
    );
    stop.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();
    emu.shutdown().await;
}

/// A token endpoint that refuses the client (`invalid_client`: an unknown or revoked
/// client) is not asked again in a loop: the refusal is held by the cache for its longest
/// retry delay, every caller gets it at once with a 503 naming it, health says why, and the
/// token endpoint saw one request in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_not_asked_for_in_a_loop() {
    let (dir, emu) = setup().await;
    let socket = dir.path().join("agent.sock");
    let text = format!(
        "[listen]\nunix = \"{}\"\n[keys.k]\nkey = \"{}\"\n[tokens.api]\nsource = \"oauth\"\n\
         token_endpoint = \"{}\"\nclient_id = \"revoked-client\"\nkey = \"k\"\n",
        socket.display(),
        dir.path().join("key.pem").display(),
        emu.token_endpoint(),
    );
    let (stop, task) = start(&text).await;
    let first = get(&socket, "/v1/tokens/api").await;
    assert_eq!(first.status, 503);
    let message = first.json().unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("invalid_client"), "{message}");
    // The background refresher wakes every second or so while there is no token; none of
    // its wake-ups, nor the callers', reaches the token endpoint again.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = get(&socket, "/v1/tokens/api").await;
        assert_eq!(again.status, 503);
        assert!(
            again.json().unwrap()["message"]
                .as_str()
                .unwrap()
                .contains("invalid_client")
        );
    }
    assert_eq!(
        emu.requests(hsmjwt_emulator::Endpoint::OAuthToken),
        1,
        "the refused client was asked for again"
    );
    let health = get(&socket, "/healthz").await;
    assert_eq!(health.status, 503);
    let health = String::from_utf8(health.body.to_vec()).unwrap();
    assert!(
        health.contains("tokens.api") && health.contains("invalid_client"),
        "{health}"
    );
    let metrics = String::from_utf8(get(&socket, "/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("hsmjwt_agent_refresh_failures_total{token=\"api\"} 1"),
        "{metrics}"
    );
    stop.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();
    emu.shutdown().await;
}

/// The keep-alive client: many requests on one connection, and the same `Connection`
/// reaches an agent started again on the socket (it opens a new connection when the agent
/// closed the old one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_serves_many_requests_and_outlives_a_restart() {
    let (dir, emu) = setup().await;
    let socket = dir.path().join("agent.sock");
    let text = config_text(dir.path(), &socket, &emu, "");
    let (stop, task) = start(&text).await;
    let mut connection = hsmjwt_agent::client::Connection::new(&socket);
    let body = json!({"sub": "svc", "aud": "adobe", "ttl": "60s"});
    for _ in 0..20 {
        let reply = connection
            .request(Method::POST, "/v1/sign/service", Some(&body))
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert!(reply.ok_json().unwrap()["token"].is_string());
    }
    stop.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();
    // No agent: a clear error, not a hang.
    let e = connection
        .request(Method::GET, "/v1/jwks", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("agent.sock"), "{e}");
    let (stop, task) = start(&text).await;
    let reply = connection
        .request(Method::GET, "/v1/jwks", None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    stop.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();
    emu.shutdown().await;
}

/// A profile with the key's certificate: `x5t#S256`, `x5c` and `x5t` in every token's
/// header; a certificate of another key stops the start naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_a_certificate_puts_it_in_the_header() {
    use hsmjwt::soft::{
        CertificateParams, DistinguishedName, KeySpec, PrivateKey, SoftSigner, self_signed,
    };
    let (dir, emu) = setup().await;
    let key = PrivateKey::load(&dir.path().join("key.pem")).unwrap();
    let signer = SoftSigner::new(key, None).unwrap();
    let subject: DistinguishedName = "CN=agent test".parse().unwrap();
    let cert = self_signed(
        &signer,
        &CertificateParams::new(subject.clone()),
        hsmjwt::NumericDate::now(),
    )
    .unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.to_pem()).unwrap();
    let socket = dir.path().join("agent.sock");
    let text = config_text(dir.path(), &socket, &emu, "").replace(
        "kid = \"thumbprint\"",
        &format!(
            "kid = \"thumbprint\"\ncert = \"{}\"\nx5c = true\nx5t = true",
            dir.path().join("cert.pem").display()
        ),
    );
    let (stop, task) = start(&text).await;
    let reply = sign(
        &socket,
        &json!({"sub": "svc", "aud": "adobe", "ttl": "60s"}),
    )
    .await;
    let token = reply.ok_json().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = hsmjwt::decode_insecure(&token).unwrap().header;
    assert_eq!(header.x5c.as_ref().map(Vec::len), Some(1), "{header:?}");
    assert!(header.x5t_s256.is_some(), "{header:?}");
    assert!(token_header_has(&token, "x5t"), "{header:?}");
    stop.send(Control::Stop).await.unwrap();
    task.await.unwrap().unwrap();

    // The certificate of another key is refused at start.
    let other = SoftSigner::new(PrivateKey::generate(KeySpec::P256).unwrap(), None).unwrap();
    let wrong = self_signed(
        &other,
        &CertificateParams::new(subject),
        hsmjwt::NumericDate::now(),
    )
    .unwrap();
    std::fs::write(dir.path().join("cert.pem"), wrong.to_pem()).unwrap();
    let config = Config::parse(&text).unwrap();
    let e = Agent::build(&config, &hsmjwt_agent::AgentOptions::default()).unwrap_err();
    assert!(e.to_string().starts_with("profiles.service.cert: "), "{e}");
    emu.shutdown().await;
}

/// Whether the token's header has the member `name`.
fn token_header_has(token: &str, name: &str) -> bool {
    let first = token.split('.').next().unwrap();
    let bytes = hsmjwt::core::b64::decode(first.as_bytes()).unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header.get(name).is_some()
}
