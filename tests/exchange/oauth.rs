//! The generic OAuth client against the emulator's /oauth/token.

use std::sync::Arc;

use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Fault, Integration};
use hsmjwt_oauth::{
    ClientAuth, Grant, HttpClient, JwtBearerGrant, OAuthClient, OAuthFlow, TokenCache, TokenParams,
};

use crate::support::*;

/// An emulator where the AEM integration also has a secret with awkward characters.
async fn emu() -> Emulator {
    let awkward = Integration::client("awkward:client", secret("s3cr%t +&=:/é"))
        .with_scopes(vec!["read".into(), "write".into()]);
    Emulator::start(config().with_integration(awkward))
        .await
        .unwrap()
}

fn client(emu: &Emulator, id: &str, auth: ClientAuth) -> OAuthClient {
    OAuthClient::new(&emu.token_endpoint(), id, auth)
        .unwrap()
        .with_http(HttpClient::new(fast()).unwrap())
}

#[tokio::test]
async fn client_credentials_with_private_key_jwt_signs_a_fresh_assertion_each_time() {
    let emu = emu().await;
    let auth = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint());
    let c = client(&emu, CLIENT_ID, auth);
    // The emulator refuses a reused jti: three calls, three assertions.
    for _ in 0..3 {
        let t = c.client_credentials(&TokenParams::new()).await.unwrap();
        assert_eq!(t.expires_in().as_secs(), 3600);
        assert_eq!(t.token_type(), "Bearer");
    }
    assert_eq!(emu.requests(Endpoint::OAuthToken), 3);
}

#[tokio::test]
async fn a_retried_request_carries_a_new_assertion() {
    let emu = emu().await;
    emu.push_fault(Fault::status(503));
    let auth = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint());
    client(&emu, CLIENT_ID, auth)
        .client_credentials(&TokenParams::new())
        .await
        .unwrap();
    assert_eq!(emu.requests(Endpoint::OAuthToken), 2);
}

#[tokio::test]
async fn the_client_assertion_lifetime_is_the_callers_within_the_profile_bounds() {
    let emu = emu().await;
    let ten_minutes = std::time::Duration::from_secs(600);
    let auth = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint())
        .with_lifetime(ten_minutes)
        .unwrap();
    assert!(format!("{auth:?}").contains("lifetime: 600s"), "{auth:?}");
    client(&emu, CLIENT_ID, auth)
        .client_credentials(&TokenParams::new())
        .await
        .unwrap();
    for (lifetime, says) in [(3601, "maximum of 3600 s"), (0, "more than zero")] {
        let err = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint())
            .with_lifetime(std::time::Duration::from_secs(lifetime))
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot mint the client assertion");
        let why = std::error::Error::source(&err).unwrap().to_string();
        assert!(why.contains(says), "{why}");
    }
    let err = ClientAuth::SecretPost(secret("s"))
        .with_lifetime(ten_minutes)
        .unwrap_err();
    let why = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        why.contains("client_secret_post client authentication has no assertion"),
        "{why}"
    );
}

#[tokio::test]
async fn client_secret_post_and_basic() {
    let emu = emu().await;
    for auth in [
        ClientAuth::SecretPost(secret("s3cr%t +&=:/é")),
        ClientAuth::SecretBasic(secret("s3cr%t +&=:/é")),
    ] {
        let t = client(&emu, "awkward:client", auth)
            .client_credentials(
                &TokenParams::new()
                    .with_scope("read write")
                    .with_audience("https://api.example")
                    .with_resource("https://api.example/v1"),
            )
            .await
            .unwrap();
        assert_eq!(t.scope(), Some("read write"));
    }
    let err = client(
        &emu,
        "awkward:client",
        ClientAuth::SecretBasic(secret("wrong")),
    )
    .client_credentials(&TokenParams::new())
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn jwt_bearer_grant() {
    let emu = emu().await;
    let c = client(&emu, CLIENT_ID, ClientAuth::None);
    let grant = JwtBearerGrant::new(keys().signer()).with_subject("user-42@example.com");
    c.jwt_bearer(grant.clone(), &TokenParams::new())
        .await
        .unwrap();
    // Twice: each request has its own jti.
    c.jwt_bearer(grant, &TokenParams::new()).await.unwrap();
    // Signed by a key the emulator does not know.
    let err = c
        .jwt_bearer(
            JwtBearerGrant::new(other_keys().signer()),
            &TokenParams::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_grant"), "{err}");
    // With client authentication as well.
    let auth = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint());
    client(&emu, CLIENT_ID, auth)
        .jwt_bearer(
            JwtBearerGrant::new(keys().signer()).with_subject("svc"),
            &TokenParams::new(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn oauth_flows_plug_into_the_cache() {
    let emu = emu().await;
    let auth = ClientAuth::private_key_jwt(keys().signer(), emu.token_endpoint());
    let flow = OAuthFlow::new(
        client(&emu, CLIENT_ID, auth),
        Grant::ClientCredentials,
        TokenParams::new(),
    );
    let cache = TokenCache::new(flow);
    let a = cache.get().await.unwrap();
    let b = cache.get().await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(emu.requests(Endpoint::OAuthToken), 1);
}

#[tokio::test]
async fn emulator_listens_on_loopback_only() {
    let err = EmulatorConfig::new()
        .with_listen("0.0.0.0:0".parse().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[test]
fn background_emulator_stops_when_dropped() {
    let emu = Emulator::start_background(config()).unwrap();
    let addr = emu.addr();
    std::net::TcpStream::connect(addr).unwrap();
    drop(emu);
    // Not a bare connect: with nobody listening, Linux may connect a socket to itself.
    assert!(!hsmjwt_testkit::net::accepts(
        addr.port(),
        std::time::Duration::from_millis(500)
    ));
}

#[tokio::test]
async fn the_emulator_refuses_a_replayed_assertion() {
    use hsmjwt_core::profile::client_assertion::{ASSERTION_TYPE, ClientAssertion};
    let emu = emu().await;
    let jwt = ClientAssertion::new(CLIENT_ID, emu.token_endpoint())
        .sign(&*keys().signer(), hsmjwt_core::NumericDate::now())
        .unwrap();
    let http = HttpClient::new(fast()).unwrap();
    let url = hsmjwt_oauth::endpoint::parse_endpoint_url(&emu.token_endpoint()).unwrap();
    let params = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", jwt.as_str()),
    ];
    http.post_form(&url, CLIENT_ID, &ClientAuth::None, &params)
        .await
        .unwrap();
    let err = http
        .post_form(&url, CLIENT_ID, &ClientAuth::None, &params)
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_client"));
    assert!(err.error_description().unwrap().contains("jti"), "{err}");
}
