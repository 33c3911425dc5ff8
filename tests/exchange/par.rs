//! JAR (RFC 9101) and PAR (RFC 9126) against the test authorization server on 127.0.0.1:
//! the request object and the pushed request are checked field by field.

use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::profile::jar::{Pkce, RequestObject, authorization_url, par_authorization_url};
use hsmjwt_core::{Algorithm, NumericDate, Signer};
use hsmjwt_emulator::authz::{
    AuthorizationServer, AuthorizationServerConfig, RegisteredAuth, RegisteredClient,
};
use hsmjwt_oauth::endpoint::parse_endpoint_url;
use hsmjwt_oauth::{ClientAuth, Error, HttpClient, HttpOptions, SecretString, par};
use hsmjwt_soft::{KeySpec, PrivateKey, SoftSigner};
use serde_json::Value;

const ISSUER: &str = "https://as.example/";
const REDIRECT: &str = "https://app.example/cb";

struct Setup {
    server: AuthorizationServer,
    jar_key: Arc<dyn Signer>,
    auth_key: Arc<dyn Signer>,
    http: HttpClient,
}

fn signer(spec: KeySpec, alg: Algorithm) -> Arc<dyn Signer> {
    Arc::new(SoftSigner::new(PrivateKey::generate(spec).unwrap(), Some(alg)).unwrap())
}

fn setup() -> Setup {
    // Separate key pairs for JAR and for private_key_jwt, as Auth0 advises.
    let jar_key = signer(KeySpec::Rsa(2048), Algorithm::PS256);
    let auth_key = signer(KeySpec::P256, Algorithm::ES256);
    let client = |id: &str, auth: RegisteredAuth| RegisteredClient {
        client_id: id.to_owned(),
        request_object_key: jar_key.public_key().clone(),
        auth,
        redirect_uris: vec![REDIRECT.to_owned()],
    };
    let config = AuthorizationServerConfig::new(ISSUER)
        .with_client(client(
            "pkjwt-app",
            RegisteredAuth::PrivateKeyJwt(auth_key.public_key().clone()),
        ))
        .with_client(client(
            "secret-app",
            RegisteredAuth::Secret(SecretString::from("s3cr3t value")),
        ))
        .with_client(client("public-app", RegisteredAuth::None));
    let http = HttpClient::new(HttpOptions::default().with_max_retries(0)).unwrap();
    Setup {
        server: AuthorizationServer::start_background(config).unwrap(),
        jar_key,
        auth_key,
        http,
    }
}

fn request_object(client_id: &str) -> RequestObject {
    RequestObject::new(client_id, ISSUER, REDIRECT)
        .with_scope("openid profile")
        .with_state("state-1")
        .with_nonce("nonce-1")
}

fn get_json(url: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (status, body) = reqwest_get(url).await;
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("the answer to {url} is not JSON ({e}): {body}"));
        (status, json)
    })
}

async fn reqwest_get(url: &str) -> (u16, String) {
    // The crate's client only POSTs; a GET by hand over a plain TCP stream keeps the test
    // free of another HTTP client.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let status = buf[9..12].parse().unwrap();
    let (_, body) = buf
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in the answer: {buf}"));
    let body = body.to_owned();
    // Chunked bodies: keep the JSON object between the first '{' and the last '}'.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => body[a..=b].to_owned(),
        _ => body,
    };
    (status, body)
}

fn push(
    s: &Setup,
    client_id: &str,
    auth: &ClientAuth,
    request: &str,
) -> Result<par::PushedRequest, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = parse_endpoint_url(&s.server.par_endpoint()).unwrap();
    rt.block_on(par::push(&s.http, &url, client_id, auth, request))
}

#[test]
fn request_object_by_value_is_accepted_field_by_field() {
    let s = setup();
    let pkce = Pkce::generate().unwrap();
    let ro = request_object("public-app").with_pkce(&pkce);
    let request = ro.sign(&*s.jar_key, NumericDate::now()).unwrap();
    let (status, params) = get_json(&authorization_url(
        &s.server.authorize_endpoint(),
        "public-app",
        &request,
    ));
    assert_eq!(status, 200, "{params}");
    for (name, value) in [
        ("client_id", "public-app"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "state-1"),
        ("nonce", "nonce-1"),
        ("code_challenge", pkce.challenge()),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(params[name], value, "{name}");
    }
    // The same request object again is a replay (jti).
    let (status, body) = get_json(&authorization_url(
        &s.server.authorize_endpoint(),
        "public-app",
        &request,
    ));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request_object"))
    );
}

#[test]
fn pushed_request_with_private_key_jwt_then_redeemed_once() {
    let s = setup();
    let request = request_object("pkjwt-app")
        .sign(&*s.jar_key, NumericDate::now())
        .unwrap();
    let auth = ClientAuth::private_key_jwt(s.auth_key.clone(), ISSUER);
    let pushed = push(&s, "pkjwt-app", &auth, &request).unwrap();
    assert!(
        pushed
            .request_uri
            .starts_with("urn:ietf:params:oauth:request_uri:"),
        "{}",
        pushed.request_uri
    );
    assert_eq!(pushed.expires_in, Duration::from_secs(60));
    let url = par_authorization_url(
        &s.server.authorize_endpoint(),
        "pkjwt-app",
        &pushed.request_uri,
    );
    let (status, params) = get_json(&url);
    assert_eq!(status, 200, "{params}");
    assert_eq!(params["state"], "state-1");
    assert_eq!(params["redirect_uri"], REDIRECT);
    // A request_uri is good for one use.
    let (status, body) = get_json(&url);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Another client cannot redeem it either.
    let pushed = push(
        &s,
        "pkjwt-app",
        &auth,
        &request_object("pkjwt-app")
            .sign(&*s.jar_key, NumericDate::now())
            .unwrap(),
    )
    .unwrap();
    let (status, _) = get_json(&par_authorization_url(
        &s.server.authorize_endpoint(),
        "public-app",
        &pushed.request_uri,
    ));
    assert_eq!(status, 400);
    assert_eq!(s.server.par_requests(), 2);
}

#[test]
fn pushed_request_with_client_secrets() {
    let s = setup();
    for auth in [
        ClientAuth::SecretPost(SecretString::from("s3cr3t value")),
        ClientAuth::SecretBasic(SecretString::from("s3cr3t value")),
    ] {
        let request = request_object("secret-app")
            .sign(&*s.jar_key, NumericDate::now())
            .unwrap();
        push(&s, "secret-app", &auth, &request).unwrap_or_else(|e| panic!("{auth:?}: {e}"));
    }
    let request = request_object("secret-app")
        .sign(&*s.jar_key, NumericDate::now())
        .unwrap();
    let err = push(
        &s,
        "secret-app",
        &ClientAuth::SecretPost(SecretString::from("not-the-secret-4711")),
        &request,
    )
    .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.oauth_error(), Some("invalid_client"));
    assert!(!err.to_string().contains("not-the-secret-4711"), "{err}");
}

#[test]
fn bad_request_objects_are_refused_by_the_server() {
    let s = setup();
    let auth = ClientAuth::private_key_jwt(s.auth_key.clone(), ISSUER);
    let now = NumericDate::now();
    let other_key = signer(KeySpec::Rsa(2048), Algorithm::PS256);
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            RequestObject::new("pkjwt-app", "https://other.example/", REDIRECT)
                .sign(&*s.jar_key, now)
                .unwrap(),
        ),
        (
            "expired",
            request_object("pkjwt-app")
                .with_lifetime(Duration::from_secs(60))
                .sign(&*s.jar_key, NumericDate::from_unix(now.as_unix() - 600))
                .unwrap(),
        ),
        (
            "wrong key",
            request_object("pkjwt-app").sign(&*other_key, now).unwrap(),
        ),
        (
            "other client",
            request_object("public-app").sign(&*s.jar_key, now).unwrap(),
        ),
        (
            "unregistered redirect",
            RequestObject::new("pkjwt-app", ISSUER, "https://evil.example/cb")
                .sign(&*s.jar_key, now)
                .unwrap(),
        ),
        ("no typ", {
            let claims = request_object("pkjwt-app").claims(now).unwrap();
            hsmjwt_core::encode(
                &hsmjwt_core::Header::jwt(Algorithm::PS256),
                &claims,
                &*s.jar_key,
            )
            .unwrap()
        }),
    ];
    for (what, request) in cases {
        let err = push(&s, "pkjwt-app", &auth, &request).unwrap_err();
        assert_eq!(err.status(), Some(400), "{what}: {err}");
        assert_eq!(err.oauth_error(), Some("invalid_request_object"), "{what}");
    }
    // Replay of a pushed request object.
    let request = request_object("pkjwt-app").sign(&*s.jar_key, now).unwrap();
    push(&s, "pkjwt-app", &auth, &request).unwrap();
    let err = push(&s, "pkjwt-app", &auth, &request).unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_request_object"));
    // Client authentication with the JAR key instead of the registered auth key.
    let wrong_auth = ClientAuth::private_key_jwt(s.jar_key.clone(), ISSUER);
    let err = push(
        &s,
        "pkjwt-app",
        &wrong_auth,
        &request_object("pkjwt-app").sign(&*s.jar_key, now).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_client"));
}
