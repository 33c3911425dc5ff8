//! Retries, backoff, Retry-After, timeouts, limits and strict token responses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hsmjwt_emulator::{Endpoint, Fault};
use hsmjwt_ims::{ImsClient, ImsEndpoint, JwtExchange, ServerToServer};
use hsmjwt_oauth::{Error, HttpOptions};

use crate::support::*;

fn s2s(emu: &hsmjwt_emulator::Emulator, options: HttpOptions) -> ServerToServer {
    ServerToServer::new(ims_client(emu, options), s2s_credentials())
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let emu = emulator().await;
    emu.push_fault(Fault::status(500));
    emu.push_fault(Fault::status(502));
    let flow = JwtExchange::from_credentials(
        ims_client(&emu, fast()),
        &aem_credentials(),
        keys().signer(),
    );
    flow.fetch().await.unwrap();
    assert_eq!(emu.requests(Endpoint::JwtExchange), 3);
    assert_eq!(emu.pending_faults(), 0);
}

#[tokio::test]
async fn at_most_three_retries() {
    let emu = emulator().await;
    emu.push_faults(10, &Fault::status(503));
    let err = s2s(&emu, fast()).fetch().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert!(
        matches!(err, Error::Endpoint { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(hsmjwt_ims::debug_id(&err).is_some());
    assert_eq!(emu.requests(Endpoint::TokenV3), 4);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emu = emulator().await;
    emu.push_fault(Fault::too_many_requests(1));
    let started = Instant::now();
    s2s(&emu, fast()).fetch().await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(emu.requests(Endpoint::TokenV3), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let emu = emulator().await;
    // Whole seconds on the wire: 3 s from now is sent as 2 to 3 s away from `started`.
    let started = Instant::now();
    emu.push_fault(Fault::too_many_requests_until(
        std::time::SystemTime::now() + Duration::from_secs(3),
    ));
    s2s(&emu, fast()).fetch().await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    assert_eq!(emu.requests(Endpoint::TokenV3), 2);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let emu = emulator().await;
    emu.push_fault(Fault::too_many_requests(3600));
    let started = Instant::now();
    s2s(
        &emu,
        fast().with_max_retry_after(Duration::from_millis(100)),
    )
    .fetch()
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let emu = emulator().await;
    let client = ims_client(&emu, fast());
    let err = client
        .client_credentials(S2S_CLIENT_ID, &secret("wrong"), &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
    emu.push_fault(Fault::status(400));
    let err = s2s(&emu, fast()).fetch().await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(emu.requests(Endpoint::TokenV3), 2);
}

#[tokio::test]
async fn a_slow_answer_times_out_without_retry() {
    let emu = emulator().await;
    emu.push_fault(Fault::delay(Duration::from_secs(3)));
    let options = fast().with_request_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = s2s(&emu, options).fetch().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out after 300 ms"), "{err}");
    // Well before the emulator's 3 s answer.
    assert!(started.elapsed() < Duration::from_millis(2800));
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_fine() {
    let emu = emulator().await;
    emu.push_fault(Fault::delay(Duration::from_millis(200)));
    s2s(&emu, fast().with_request_timeout(Duration::from_secs(3)))
        .fetch()
        .await
        .unwrap();
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // A loopback port held, not listening: every connection is refused.
    let refusing = hsmjwt_testkit::net::RefusingPort::new().unwrap();
    let endpoint = ImsEndpoint::production()
        .with_base_url(&refusing.url())
        .unwrap();
    let client = ImsClient::with_http(endpoint, hsmjwt_oauth::HttpClient::new(fast()).unwrap());
    let started = Instant::now();
    let err = ServerToServer::new(client, s2s_credentials())
        .fetch()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    // Three backoff delays of 5..50 ms happened.
    assert!(started.elapsed() >= Duration::from_millis(15));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let emu = emulator().await;
    emu.push_fault(Fault::body(
        200,
        format!("{{\"pad\":\"{}\"}}", "x".repeat(10_000)),
    ));
    let err = s2s(&emu, fast().with_max_response_bytes(4096))
        .fetch()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn token_responses_are_parsed_strictly() {
    let emu = emulator().await;
    for (body, what) in [
        (
            r#"{"token_type":"bearer","access_token":"SECRETTOKEN","expires_in":"soon"}"#,
            "expires_in",
        ),
        (
            r#"{"token_type":"bearer","access_token":"SECRETTOKEN","expires_in":86399.5}"#,
            "`expires_in` is not a whole number",
        ),
        (
            r#"{"token_type":"bearer","access_token":"SECRETTOKEN","expires_in":4611686018427387904}"#,
            "`expires_in` 4611686018427387904 s is beyond the supported maximum",
        ),
        (
            r#"{"token_type":"bearer","expires_in":86399}"#,
            "access_token",
        ),
        (
            r#"{"token_type":"bearer","access_token":42,"expires_in":86399}"#,
            "access_token",
        ),
        (
            r#"{"token_type":"mac","access_token":"SECRETTOKEN","expires_in":86399}"#,
            "token_type",
        ),
        ("<html>oops</html>", "JSON"),
    ] {
        emu.push_fault(Fault::body(200, body));
        let err = s2s(&emu, fast()).fetch().await.unwrap_err();
        match &err {
            Error::InvalidResponse { reason, .. } => {
                assert!(reason.contains(what), "{body}: {reason}")
            }
            other => panic!("{body}: {other:?}"),
        }
        assert!(!err.to_string().contains("SECRETTOKEN"), "{err}");
    }
    emu.push_fault(Fault::body(
        200,
        r#"{"token_type":"BEARER","access_token":"t","expires_in":5}"#,
    ));
    let t = s2s(&emu, fast()).fetch().await.unwrap();
    assert_eq!(t.expires_in(), Duration::from_secs(5));
}

#[tokio::test]
async fn token_responses_as_real_servers_send_them_are_accepted() {
    let emu = emulator().await;
    for (body, expires_in, assumed) in [
        // Without expires_in (RFC 6749: RECOMMENDED): the documented default.
        (
            r#"{"token_type":"bearer","access_token":"t"}"#,
            hsmjwt_oauth::DEFAULT_EXPIRES_IN,
            true,
        ),
        // Azure AD v1: a numeric string.
        (
            r#"{"token_type":"Bearer","access_token":"t","expires_in":"3599","ext_expires_in":"3599"}"#,
            Duration::from_secs(3599),
            false,
        ),
        (
            r#"{"token_type":"bearer","access_token":"t","expires_in":3600.0}"#,
            Duration::from_secs(3600),
            false,
        ),
    ] {
        emu.push_fault(Fault::body(200, body));
        let t = s2s(&emu, fast())
            .fetch()
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(t.expires_in(), expires_in, "{body}");
        assert_eq!(t.expires_in_assumed(), assumed, "{body}");
    }
    // The JWT exchange counts milliseconds, as a string too.
    emu.push_fault(Fault::body(
        200,
        r#"{"token_type":"bearer","access_token":"t","expires_in":"86399999"}"#,
    ));
    let flow = JwtExchange::from_credentials(
        ims_client(&emu, fast()),
        &aem_credentials(),
        keys().signer(),
    );
    let t = flow.fetch().await.unwrap();
    assert_eq!(t.expires_in(), Duration::from_millis(86_399_999));
    // Scope kept; a refresh or ID token only noted.
    emu.push_fault(Fault::body(
        200,
        r#"{"token_type":"bearer","access_token":"t","expires_in":60,"scope":"openid","refresh_token":"RT-SECRET","id_token":"ID-SECRET"}"#,
    ));
    let t = s2s(&emu, fast()).fetch().await.unwrap();
    assert_eq!(t.scope(), Some("openid"));
    assert!(t.has_refresh_token() && t.has_id_token());
    assert!(!format!("{t:?}").contains("SECRET"));
}

// ---- The overall time limit ----

/// Fetches with `options`, which must fail well within `bound`; returns the error.
async fn fails_within(
    emu: &hsmjwt_emulator::Emulator,
    options: HttpOptions,
    bound: Duration,
) -> Error {
    let started = Instant::now();
    let err = s2s(emu, options).fetch().await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < bound, "{elapsed:?}: {err}");
    err
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_limit_fails_at_once() {
    let emu = emulator().await;
    emu.push_fault(Fault::too_many_requests(100_000));
    let options = fast()
        .with_max_retry_after(Duration::from_secs(100_000))
        .with_total_timeout(Some(Duration::from_secs(2)));
    let err = fails_within(&emu, options, Duration::from_secs(10)).await;
    assert!(
        matches!(&err, Error::TimeLimit { attempts: 1, limit, last: Some(_), .. } if *limit == Duration::from_secs(2)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the server asked to retry after 100000 s, beyond the 2 s time limit"
    );
    // The answer that asked for the wait stays readable, for support.
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.oauth_error(), Some("too_many_requests"));
    assert!(hsmjwt_ims::debug_id(&err).is_some(), "{err:?}");
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
    // An HTTP date far away: the same.
    emu.push_fault(Fault::too_many_requests_until(
        std::time::SystemTime::now() + Duration::from_secs(3600),
    ));
    let options = fast().with_total_timeout(Some(Duration::from_secs(2)));
    let err = s2s(&emu, options).fetch().await.unwrap_err();
    assert!(
        err.to_string().contains("beyond the 2 s time limit"),
        "{err}"
    );
}

#[tokio::test]
async fn the_time_limit_bounds_retries_and_waits_together() {
    let emu = emulator().await;
    // Each answer asks for 1 s; 10 retries allowed; 2.5 s in all.
    emu.push_faults(
        10,
        &Fault::Status {
            status: 503,
            retry_after: Some(1),
        },
    );
    let options = fast()
        .with_max_retries(10)
        .with_total_timeout(Some(Duration::from_millis(2500)));
    let err = fails_within(&emu, options, Duration::from_secs(6)).await;
    assert!(matches!(err, Error::TimeLimit { .. }), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let requests = emu.requests(Endpoint::TokenV3);
    assert!((2..=3).contains(&requests), "{requests} requests");
}

#[tokio::test]
async fn the_time_limit_cuts_a_slow_attempt() {
    let emu = emulator().await;
    emu.push_fault(Fault::status(503));
    emu.push_fault(Fault::delay(Duration::from_secs(20)));
    // Each request may take 30 s, the whole call 2 s.
    let options = fast()
        .with_request_timeout(Duration::from_secs(30))
        .with_total_timeout(Some(Duration::from_secs(2)));
    let err = fails_within(&emu, options, Duration::from_secs(10)).await;
    assert!(
        matches!(err, Error::TimeLimit { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with("within the 2 s time limit"),
        "{err}"
    );
    assert_eq!(emu.requests(Endpoint::TokenV3), 2);
}

#[tokio::test]
async fn a_refused_certificate_is_reported_once_and_not_retried() {
    let (port, connections) = untrusted_tls_server().await;
    let client = hsmjwt_oauth::OAuthClient::new(
        &format!("https://127.0.0.1:{port}/oauth/token"),
        "c",
        hsmjwt_oauth::ClientAuth::SecretPost(secret("s")),
    )
    .unwrap()
    .with_http(hsmjwt_oauth::HttpClient::new(fast().with_max_retries(3)).unwrap());
    let err = client
        .client_credentials(&hsmjwt_oauth::TokenParams::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { reason, .. } if reason.contains("certificate was refused")),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "tls handshake with https://127.0.0.1:{port}/oauth/token failed: the server's certificate was refused"
        )),
        "{err}"
    );
    // Time for a retry to show up, had there been one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// A TLS server on 127.0.0.1 whose self-signed certificate no trust store knows; it counts
/// the connections it accepts.
async fn untrusted_tls_server() -> (u16, Arc<AtomicUsize>) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    let key = hsmjwt_soft::PrivateKey::generate(hsmjwt_soft::KeySpec::P256).unwrap();
    key.write_pkcs8_pem(&key_path, true).unwrap();
    let cert_path = dir.path().join("cert.pem");
    self_signed_certificate(
        &key_path,
        &cert_path,
        &[
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ],
    );
    let cert = CertificateDer::from_pem_file(&cert_path).unwrap();
    let key = PrivateKeyDer::from_pem_file(&key_path).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client refuses the certificate: the handshake fails.
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    (port, connections)
}
