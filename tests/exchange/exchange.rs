//! Both IMS flows end to end with a software key.

use std::time::Duration;

use hsmjwt_core::profile::adobe::metascope_claim;
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Integration};
use hsmjwt_ims::{ExposeSecret, JwtExchange, ServerToServer};

use crate::support::*;

#[tokio::test]
async fn jwt_exchange_with_a_certificate_registered() {
    let emu = emulator().await;
    let creds = aem_credentials();
    let flow = JwtExchange::from_credentials(ims_client(&emu, fast()), &creds, keys().signer());
    let jwt = flow.sign_jwt().await.unwrap();
    let decoded = hsmjwt_core::decode_insecure(&jwt).unwrap();
    assert_eq!(decoded.header.alg, hsmjwt_core::Algorithm::RS256);
    assert_eq!(decoded.claims.iss.as_deref(), Some(ORG));
    assert_eq!(decoded.claims.sub.as_deref(), Some(TECH));
    assert!(
        decoded
            .claims
            .aud
            .unwrap()
            .contains(&format!("https://ims-na1.adobelogin.com/c/{CLIENT_ID}"))
    );
    assert_eq!(
        decoded
            .claims
            .extra
            .get(&metascope_claim("ims-na1.adobelogin.com", METASCOPE)),
        Some(&serde_json::Value::Bool(true))
    );
    let token = flow.exchange(&jwt).await.unwrap();
    // Milliseconds on this endpoint: 86399999 ms is just under a day, not 1000 days.
    assert_eq!(token.expires_in(), Duration::from_millis(86_399_999));
    assert!(token.secret().expose_secret().starts_with("emu."));
    assert!(token.token_type().eq_ignore_ascii_case("bearer"));
    let again = flow.fetch().await.unwrap();
    assert_ne!(
        again.secret().expose_secret(),
        token.secret().expose_secret()
    );
    assert_eq!(emu.requests(Endpoint::JwtExchange), 2);
    assert_eq!(emu.tokens_issued(), 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn jwt_exchange_with_a_bare_public_key_registered() {
    let creds = aem_credentials().with_certificate_pem(keys().public_pem.clone());
    let config =
        EmulatorConfig::new().with_integration(Integration::from_service_account(&creds).unwrap());
    let emu = Emulator::start(config).await.unwrap();
    let flow = JwtExchange::from_credentials(ims_client(&emu, fast()), &creds, keys().signer())
        .with_lifetime(Duration::from_secs(24 * 3600));
    let token = flow.fetch().await.unwrap();
    assert_eq!(token.expires_in().as_secs(), 86_399);
}

#[tokio::test]
async fn stage_host_is_the_identity_and_the_emulator_the_destination() {
    let creds = aem_credentials()
        .with_ims_host("ims-na1-stg1.adobelogin.com")
        .unwrap();
    let config =
        EmulatorConfig::new().with_integration(Integration::from_service_account(&creds).unwrap());
    let emu = Emulator::start(config).await.unwrap();
    let endpoint = hsmjwt_ims::ImsEndpoint::stage()
        .with_base_url(&emu.base_url())
        .unwrap();
    let client =
        hsmjwt_ims::ImsClient::with_http(endpoint, hsmjwt_oauth::HttpClient::new(fast()).unwrap());
    let flow = JwtExchange::from_credentials(client, &creds, keys().signer());
    let jwt = flow.sign_jwt().await.unwrap();
    let claims = hsmjwt_core::decode_insecure(&jwt).unwrap().claims;
    assert!(claims.aud.unwrap().contains(&format!(
        "https://ims-na1-stg1.adobelogin.com/c/{CLIENT_ID}"
    )));
    flow.exchange(&jwt).await.unwrap();
    // The production host in aud is refused by an emulator registered for stage.
    let prod = JwtExchange::from_credentials(ims_client(&emu, fast()), &creds, keys().signer());
    let err = prod.fetch().await.unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_token"), "{err}");
}

#[tokio::test]
async fn server_to_server_reads_seconds() {
    let emu = emulator().await;
    let flow = ServerToServer::new(ims_client(&emu, fast()), s2s_credentials());
    let token = flow.fetch().await.unwrap();
    assert_eq!(token.expires_in(), Duration::from_secs(86_399));
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
    assert_eq!(emu.requests(Endpoint::JwtExchange), 0);
}

#[tokio::test]
async fn a_subset_of_scopes_is_fine() {
    let emu = emulator().await;
    let client = ims_client(&emu, fast());
    client
        .client_credentials(S2S_CLIENT_ID, &secret(S2S_SECRET), &["openid".to_owned()])
        .await
        .unwrap();
}
