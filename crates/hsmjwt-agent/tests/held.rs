//! The agent with a SoftHSM2 key behind the fault-injecting module (`hsmjwt-testkit-faults`)
//! whose next `C_Sign` never returns: `POST /v1/sign` fails with 503 once the signature
//! deadline (`AgentOptions::http.sign_timeout`, 1 s here) has passed, instead of hanging;
//! meanwhile another request signs on another session; released, the stuck signature ends.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, so the test runs itself again in a child
//! with the token's environment; the fault module loads SoftHSM2 behind it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use hsmjwt::oauth::HttpOptions;
use hsmjwt_agent::AgentOptions;
use hsmjwt_agent::client::{Method, request};
use hsmjwt_agent::server::Control;
use hsmjwt_testkit::faults::Faults;
use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};
use serde_json::json;

mod common;

const TOKEN: &str = "agent-held";

#[test]
fn a_held_hsm_signature_fails_the_request_in_time() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "k", "01", "EC:prime256v1")
        .run_in_child(
            "a_held_hsm_signature_fails_the_request_in_time",
            |hsm, rerun| {
                rerun
                    .env_remove("HSMJWT_FAULTS")
                    .env("HSMJWT_FAULTS_TARGET", hsm.module())
            },
            child,
        )
        .unwrap();
}

fn child(hsm: &SoftHsm) {
    let faults = Faults::load(&Faults::find().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = common::hsm_key(hsm, TOKEN, "k", faults.path(), dir.path());
    let socket = dir.path().join("agent.sock");
    let text = format!(
        r#"[listen]
unix = "{socket}"
[keys.k]
key = "{key}"
[profiles.service]
key = "k"
iss = "https://idp.example"
audiences = ["adobe"]
max_ttl = "5m"
"#,
        socket = socket.display(),
    );
    let limit = Duration::from_secs(1);
    let options =
        AgentOptions::default().with_http(HttpOptions::default().with_sign_timeout(limit));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (control, server) = common::start(&text, &options).await;
        let body = json!({"sub": "held", "aud": "adobe", "ttl": "60s"});
        let sign = || request(&socket, Method::POST, "/v1/sign/service", Some(&body));
        assert_eq!(sign().await.unwrap().status, 200);

        // The next C_Sign is held: the request fails in time, naming the limit.
        faults.hold_signs(1);
        let started = Instant::now();
        let reply = sign().await.unwrap();
        let took = started.elapsed();
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.status, 503, "{text}");
        assert!(text.contains("sign_failed"), "{text}");
        assert!(text.contains("did not finish within 1s"), "{text}");
        assert!(took >= limit && took < limit * 5, "{took:?}");
        assert_eq!(faults.signs_blocked(), 1);

        // The held session is not given out: with a pool of two or more (one session per
        // CPU), the next request signs on another one meanwhile.
        if std::thread::available_parallelism().map_or(1, usize::from) >= 2 {
            let reply = sign().await.unwrap();
            assert_eq!(
                reply.status,
                200,
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
        }

        // Released, the stuck signature ends and its session comes back.
        faults.release_signs();
        assert_eq!(sign().await.unwrap().status, 200);
        control.send(Control::Stop).await.unwrap();
        server.await.unwrap().unwrap();
    });
    drop(runtime);
    println!("a held C_Sign: POST /v1/sign failed with 503 in time; the next signed");
}
