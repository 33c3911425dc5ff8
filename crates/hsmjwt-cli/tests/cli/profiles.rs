//! The token-shape commands: `service-token`, `jar`, `pubkey --format auth0-credential`,
//! and certificate headers on `sign`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{hsmjwt, json, p};

fn keygen(dir: &Path, alg: &str) -> PathBuf {
    let key = dir.join(format!("{alg}.pem"));
    hsmjwt(&["keygen", "--alg", alg, "--out", p(&key)]).ok();
    key
}

fn self_signed(dir: &Path, key: &Path, name: &str, days: &str) -> PathBuf {
    let cert = dir.join(name);
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-key",
            p(key),
            "-out",
            p(&cert),
            "-days",
            days,
            "-subj",
            "/CN=hsmjwt-cli-test",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success();
    assert!(ok);
    cert
}

#[test]
fn service_token_bare_and_header_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "RS256");
    let token = hsmjwt(&[
        "service-token",
        "--key",
        p(&key),
        "--iss",
        "https://idp.example",
        "--sub",
        "user-42",
        "--claim",
        r#"name="Jane Smith""#,
    ])
    .ok();
    let v = json(&hsmjwt(&["decode", token.trim()]).ok());
    assert_eq!(v["header"]["alg"], "RS256");
    assert_eq!(
        v["header"]["kid"].as_str().map(str::len),
        Some(43),
        "thumbprint kid by default"
    );
    let c = &v["claims"];
    assert_eq!(c["aud"], "adobe");
    assert_eq!(c["name"], "Jane Smith");
    assert_eq!(c["jti"].as_str().map(str::len), Some(36));
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    hsmjwt(&[
        "verify",
        "--key",
        p(&key),
        "--aud",
        "adobe",
        "--require",
        "jti",
        token.trim(),
    ])
    .ok();

    let line = hsmjwt(&[
        "service-token",
        "--key",
        p(&key),
        "--iss",
        "i",
        "--sub",
        "s",
        "--kid",
        "k1",
        "--header-line",
    ])
    .ok();
    assert!(line.starts_with("AD-Service-Token: eyJ"), "{line}");

    // Refusals name what is wrong.
    let ec = keygen(dir.path(), "ES256");
    let l = hsmjwt(&["service-token", "--key", p(&ec), "--iss", "i", "--sub", "s"]).fails();
    assert!(l.contains("RS256") || l.contains("ES256"), "{l}");
    let l = hsmjwt(&[
        "service-token",
        "--key",
        p(&key),
        "--iss",
        "i",
        "--sub",
        "s",
        "--ttl",
        "25h",
    ])
    .fails();
    assert!(l.contains("lifetime"), "{l}");
    let l = hsmjwt(&["service-token", "--key", p(&key), "--iss", "", "--sub", "s"]).fails();
    assert!(l.contains("iss"), "{l}");
    let l = hsmjwt(&[
        "service-token",
        "--key",
        p(&key),
        "--iss",
        "i",
        "--sub",
        "s",
        "--claim",
        "exp=5",
    ])
    .fails();
    assert!(l.contains("exp"), "{l}");
}

#[test]
fn jar_by_value_with_pkce() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "PS256");
    let out = hsmjwt(&[
        "jar",
        "--key",
        p(&key),
        "--alg",
        "PS256",
        "--kid",
        "thumbprint",
        "--client-id",
        "app 1",
        "--issuer",
        "https://as.example/",
        "--redirect-uri",
        "https://app.example/cb",
        "--scope",
        "openid profile",
        "--state",
        "auto",
        "--nonce",
        "auto",
        "--pkce",
        "--authorize-endpoint",
        "https://as.example/authorize",
        "--json",
    ])
    .ok();
    let v = json(&out);
    let url = v["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://as.example/authorize?client_id=app%201&request=eyJ"),
        "{url}"
    );
    let request = v["request"].as_str().unwrap();
    let d = json(&hsmjwt(&["decode", request]).ok());
    assert_eq!(d["header"]["typ"], "oauth-authz-req+jwt");
    assert_eq!(d["header"]["alg"], "PS256");
    assert_eq!(d["claims"]["state"], v["state"]);
    assert_eq!(d["claims"]["nonce"], v["nonce"]);
    assert_eq!(d["claims"]["code_challenge_method"], "S256");
    assert_eq!(v["code_verifier"].as_str().map(str::len), Some(43));
    hsmjwt(&[
        "verify",
        "--key",
        p(&key),
        "--alg",
        "PS256",
        "--aud",
        "https://as.example/",
        "--typ",
        "oauth-authz-req+jwt",
        request,
    ])
    .ok();
    let l = hsmjwt(&[
        "jar",
        "--key",
        p(&key),
        "--client-id",
        "c",
        "--issuer",
        "i",
        "--redirect-uri",
        "relative",
        "--authorize-endpoint",
        "https://x",
    ])
    .fails();
    assert!(l.contains("redirect_uri"), "{l}");
}

#[test]
fn auth0_credential_body() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "RS256");
    let v = json(
        &hsmjwt(&[
            "pubkey",
            "--key",
            p(&key),
            "--format",
            "auth0-credential",
            "--alg",
            "PS256",
            "--name",
            "jar key",
        ])
        .ok(),
    );
    assert_eq!(v["name"], "jar key");
    assert_eq!(v["credential_type"], "public_key");
    assert_eq!(v["alg"], "PS256");
    let pem = hsmjwt(&["pubkey", "--key", p(&key)]).ok();
    assert_eq!(v["pem"].as_str().unwrap().trim(), pem.trim());
    assert_eq!(v.as_object().unwrap().len(), 4);
    let ec = keygen(dir.path(), "ES256");
    let l = hsmjwt(&["pubkey", "--key", p(&ec), "--format", "auth0-credential"]).fails();
    assert!(l.contains("RSA"), "{l}");
    let l = hsmjwt(&[
        "pubkey",
        "--key",
        p(&key),
        "--format",
        "auth0-credential",
        "--alg",
        "ES256",
    ])
    .fails();
    assert!(l.contains("RS256 or PS256"), "{l}");
}

#[test]
fn certificate_headers_on_sign() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "ES256");
    let cert = self_signed(dir.path(), &key, "cert.pem", "365");
    let token = hsmjwt(&["sign", "--key", p(&key), "--cert", p(&cert), "--x5c"]).ok();
    let h = &json(&hsmjwt(&["decode", token.trim()]).ok())["header"];
    assert_eq!(h["x5c"].as_array().map(Vec::len), Some(1));
    assert_eq!(h["x5t#S256"].as_str().map(str::len), Some(43));
    let token = hsmjwt(&["sign", "--key", p(&key), "--cert", p(&cert)]).ok();
    assert!(
        json(&hsmjwt(&["decode", token.trim()]).ok())["header"]
            .get("x5c")
            .is_none()
    );
    // A certificate of another key is refused.
    let other = keygen(dir.path(), "ES384");
    let l = hsmjwt(&["sign", "--key", p(&other), "--cert", p(&cert)]).fails();
    assert!(l.contains("does not belong"), "{l}");
    // Expiring soon: signed, with a warning.
    let short = self_signed(dir.path(), &key, "short.pem", "5");
    let run = hsmjwt(&["sign", "--key", p(&key), "--cert", p(&short)]);
    assert!(run.stderr().contains("expires in"), "{}", run.stderr());
    run.ok();
}

#[test]
fn jar_pushed_to_a_par_endpoint() {
    use hsmjwt::Algorithm;
    use hsmjwt::soft::PublicKey;
    use hsmjwt_emulator::authz::{
        AuthorizationServer, AuthorizationServerConfig, RegisteredAuth, RegisteredClient,
    };

    let dir = tempfile::tempdir().unwrap();
    let jar_key = keygen(dir.path(), "PS256");
    let auth_key = keygen(dir.path(), "ES256");
    let jwk = |k: &Path| PublicKey::load(k).unwrap().jwk();
    let issuer = "https://as.example/";
    let server = AuthorizationServer::start_background(
        AuthorizationServerConfig::new(issuer).with_client(RegisteredClient {
            client_id: "cli-app".into(),
            request_object_key: jwk(&jar_key).with_alg(Algorithm::PS256),
            auth: RegisteredAuth::PrivateKeyJwt(jwk(&auth_key)),
            redirect_uris: vec!["https://app.example/cb".into()],
        }),
    )
    .unwrap();
    let par = server.par_endpoint();
    let authorize = server.authorize_endpoint();
    let base = [
        "jar",
        "--key",
        p(&jar_key),
        "--alg",
        "PS256",
        "--client-id",
        "cli-app",
        "--issuer",
        issuer,
        "--redirect-uri",
        "https://app.example/cb",
        "--scope",
        "openid",
        "--state",
        "auto",
        "--par-endpoint",
        &par,
    ];
    let mut args = base.to_vec();
    args.extend([
        "--auth-key",
        p(&auth_key),
        "--authorize-endpoint",
        &authorize,
        "--json",
    ]);
    let v = json(&hsmjwt(&args).ok());
    let request_uri = v["request_uri"].as_str().unwrap();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{v}"
    );
    let url = v["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{authorize}?client_id=cli-app&request_uri=urn%3Aietf"
        )),
        "{url}"
    );
    assert!(
        !url.contains("request=eyJ"),
        "the request object travels by reference: {url}"
    );
    assert_eq!(server.par_requests(), 1);

    // The JAR key is not the client's authentication key: the server says invalid_client.
    let mut args = base.to_vec();
    args.extend(["--auth-key", p(&jar_key)]);
    let l = hsmjwt(&args).fails();
    assert!(l.contains("invalid_client"), "{l}");
    // A public client's push is refused for want of authentication.
    let l = hsmjwt(&base).fails();
    assert!(l.contains("invalid_client"), "{l}");
}
