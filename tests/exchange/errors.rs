//! Every error the emulator answers, as a typed error: status, OAuth error, description and
//! x-debug-id; and no secret in any message.

use std::time::Duration;

use hsmjwt_core::profile::adobe::ServiceAccountJwt;
use hsmjwt_core::{Algorithm, Claims, Header, NumericDate};
use hsmjwt_emulator::Endpoint;
use hsmjwt_ims::{DEBUG_ID_HEADER, ImsEndpoint, JwtExchange};
use hsmjwt_oauth::{ClientAuth, Error, HttpClient, OAuthClient, TokenParams};

use crate::support::*;

/// Checks the typed error and that it leaks nothing.
fn check(err: &Error, status: u16, code: &str) {
    let Error::Endpoint {
        status: s,
        error,
        error_description,
        attempts,
        ..
    } = err
    else {
        panic!("not an endpoint error: {err:?}");
    };
    assert_eq!(*s, status, "{err}");
    assert_eq!(error.as_deref(), Some(code), "{err}");
    assert!(
        error_description.as_deref().is_some_and(|d| !d.is_empty()),
        "{err}"
    );
    let id = hsmjwt_ims::debug_id(err).unwrap_or_else(|| panic!("no x-debug-id: {err}"));
    assert_eq!(id.len(), 32, "x-debug-id: {err}");
    assert_eq!(*attempts, 1, "4xx is not retried");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains(CLIENT_SECRET) && !text.contains(S2S_SECRET),
            "{text}"
        );
        assert!(!text.contains("eyJ"), "no JWT in errors: {text}");
    }
    assert!(err.to_string().contains(id));
}

fn template() -> ServiceAccountJwt {
    aem_credentials().service_account_jwt("ims-na1.adobelogin.com")
}

#[tokio::test]
async fn jwt_exchange_errors() {
    let emu = emulator().await;
    let client = ims_client(&emu, fast());
    let signer = keys().signer();
    let now = NumericDate::now();
    let good = template().sign(&*signer, now).unwrap();
    let s = secret(CLIENT_SECRET);

    let e = client
        .exchange_jwt(CLIENT_ID, &secret("wrong"), &good)
        .await
        .unwrap_err();
    check(&e, 401, "invalid_client");
    let e = client.exchange_jwt("nobody", &s, &good).await.unwrap_err();
    check(&e, 400, "invalid_client");

    let forged = template().sign(&*other_keys().signer(), now).unwrap();
    let e = client
        .exchange_jwt(CLIENT_ID, &s, &forged)
        .await
        .unwrap_err();
    check(&e, 400, "invalid_signature");

    let e = client
        .exchange_jwt(CLIENT_ID, &s, "not.a.jwt")
        .await
        .unwrap_err();
    check(&e, 400, "invalid_token");

    let expired = template()
        .sign(&*signer, now.saturating_sub(Duration::from_secs(3600)))
        .unwrap();
    let e = client
        .exchange_jwt(CLIENT_ID, &s, &expired)
        .await
        .unwrap_err();
    check(&e, 400, "invalid_token");
    assert!(e.error_description().unwrap().contains("expired"), "{e}");

    // Within the 30 s skew: accepted.
    let just = template()
        .with_lifetime(Duration::from_secs(60))
        .sign(&*signer, now.saturating_sub(Duration::from_secs(80)))
        .unwrap();
    client.exchange_jwt(CLIENT_ID, &s, &just).await.unwrap();

    let mut wrong_iss = template();
    wrong_iss.org_id = "OTHER@AdobeOrg".into();
    let e = client
        .exchange_jwt(CLIENT_ID, &s, &wrong_iss.sign(&*signer, now).unwrap())
        .await
        .unwrap_err();
    check(&e, 400, "invalid_token");

    let mut wrong_sub = template();
    wrong_sub.technical_account_id = "OTHER@techacct.adobe.com".into();
    let e = client
        .exchange_jwt(CLIENT_ID, &s, &wrong_sub.sign(&*signer, now).unwrap())
        .await
        .unwrap_err();
    check(&e, 400, "invalid_token");

    let other_scope = template();
    let other_scope = ServiceAccountJwt {
        metascopes: vec!["ent_other_sdk".into()],
        ..other_scope
    };
    let e = client
        .exchange_jwt(CLIENT_ID, &s, &other_scope.sign(&*signer, now).unwrap())
        .await
        .unwrap_err();
    check(&e, 400, "invalid_scope");

    // A 25 h JWT, made by hand (the profile refuses to build one).
    let claims: Claims = template()
        .claims(now)
        .unwrap()
        .with_expiry(now.saturating_add(Duration::from_secs(25 * 3600)));
    let long = hsmjwt_core::encode(&Header::jwt(Algorithm::RS256), &claims, &*signer).unwrap();
    let e = client.exchange_jwt(CLIENT_ID, &s, &long).await.unwrap_err();
    check(&e, 400, "invalid_token");

    // A request without jwt_token.
    let url = ImsEndpoint::production()
        .with_base_url(&emu.base_url())
        .unwrap()
        .jwt_exchange_url();
    let e = client
        .http()
        .post_form(&url, CLIENT_ID, &ClientAuth::SecretPost(s.clone()), &[])
        .await
        .unwrap_err();
    check(&e, 400, "bad_request");

    // Signer of the wrong algorithm: refused before any request.
    let ec = hsmjwt_soft::SoftSigner::new(
        hsmjwt_soft::PrivateKey::generate(hsmjwt_soft::KeySpec::P256).unwrap(),
        None,
    )
    .unwrap();
    let before = emu.requests(Endpoint::JwtExchange);
    let flow =
        JwtExchange::from_credentials(client.clone(), &aem_credentials(), std::sync::Arc::new(ec));
    let e = flow.fetch().await.unwrap_err();
    assert!(matches!(e, Error::Jwt { .. }), "{e:?}");
    assert_eq!(emu.requests(Endpoint::JwtExchange), before);
}

#[tokio::test]
async fn token_v3_errors() {
    let emu = emulator().await;
    let client = ims_client(&emu, fast());
    let scopes: Vec<String> = S2S_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let e = client
        .client_credentials(S2S_CLIENT_ID, &secret("nope"), &scopes)
        .await
        .unwrap_err();
    check(&e, 401, "invalid_client");
    let e = client
        .client_credentials(S2S_CLIENT_ID, &secret(S2S_SECRET), &["admin".to_owned()])
        .await
        .unwrap_err();
    check(&e, 400, "invalid_scope");
    let e = client
        .client_credentials("unknown", &secret(S2S_SECRET), &scopes)
        .await
        .unwrap_err();
    check(&e, 400, "invalid_client");
}

/// A generic client that keeps IMS's `x-debug-id` (the emulator sends it on every answer).
fn oauth_client(emu: &hsmjwt_emulator::Emulator, id: &str, auth: ClientAuth) -> OAuthClient {
    OAuthClient::new(&emu.token_endpoint(), id, auth)
        .unwrap()
        .with_http(HttpClient::new(fast().with_kept_header(DEBUG_ID_HEADER)).unwrap())
}

#[tokio::test]
async fn oauth_errors() {
    let emu = emulator().await;
    let bad_key = ClientAuth::private_key_jwt(other_keys().signer(), emu.token_endpoint());
    let client = oauth_client(&emu, CLIENT_ID, bad_key);
    let e = client
        .client_credentials(&TokenParams::new())
        .await
        .unwrap_err();
    check(&e, 401, "invalid_client");
    let wrong_aud = ClientAuth::private_key_jwt(keys().signer(), "https://elsewhere.example/token");
    let client = oauth_client(&emu, CLIENT_ID, wrong_aud);
    let e = client
        .client_credentials(&TokenParams::new())
        .await
        .unwrap_err();
    check(&e, 401, "invalid_client");
    let client = oauth_client(&emu, CLIENT_ID, ClientAuth::None);
    let e = client
        .client_credentials(&TokenParams::new())
        .await
        .unwrap_err();
    check(&e, 401, "invalid_client");
    let client = oauth_client(
        &emu,
        S2S_CLIENT_ID,
        ClientAuth::SecretBasic(secret(S2S_SECRET)),
    );
    let e = client
        .client_credentials(&TokenParams::new().with_scope("admin"))
        .await
        .unwrap_err();
    check(&e, 400, "invalid_scope");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused() {
    for url in [
        "http://ims.example.com",
        "http://10.1.2.3:8080",
        "http://[2001:db8::1]/",
    ] {
        let e = ImsEndpoint::production().with_base_url(url).unwrap_err();
        assert!(
            matches!(e, hsmjwt_ims::Error::OAuth(Error::InsecureUrl { .. })),
            "{url}: {e:?}"
        );
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = OAuthClient::new(&format!("{url}/token"), "c", ClientAuth::None).unwrap_err();
        assert!(matches!(e, Error::InsecureUrl { .. }), "{url}: {e:?}");
    }
    for url in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://ims.example.com",
    ] {
        ImsEndpoint::production().with_base_url(url).unwrap();
    }
}
