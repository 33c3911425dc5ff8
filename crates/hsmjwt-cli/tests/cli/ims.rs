//! `ims jwt`, `ims token`, `ims emulator`, `oauth token` and `demo`, run as a user would,
//! against an IMS emulator started in this test process (or as a child `hsmjwt ims
//! emulator`, killed at the end). Credential files are written here with fake values.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ::hsmjwt::soft::{KeySpec, PrivateKey};
use hsmjwt::ims::CredentialsFile;
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Fault, Integration};

use hsmjwt_testkit::softhsm::{self, Builder, PIN};

use crate::{hsmjwt, hsmjwt_softhsm, hsmjwt_with, json, p};

pub(crate) const CLIENT_ID: &str = "cm-p111-e222-integration";
const SECRET: &str = "p8e-FAKE-cli-secret-abcdef";
const ORG: &str = "AAAABBBBCCCCDDDD00001111@AdobeOrg";
const TECH: &str = "EEEEFFFF0000111122223333@techacct.adobe.com";
const S2S_ID: &str = "cli-s2s-client";
const S2S_SECRET: &str = "p8e-FAKE-cli-s2s-secret";

struct Files {
    dir: tempfile::TempDir,
    key_pem: PathBuf,
    /// AEM credentials with the private key.
    aem_with_key: PathBuf,
    /// AEM credentials without it.
    aem_without_key: PathBuf,
    /// A Developer Console project with an OAuth server-to-server credential.
    console: PathBuf,
}

/// AEM service credentials for [`CLIENT_ID`] with `secret`, the certificate (or public key)
/// `public_pem` and, when given, the private key.
pub(crate) fn aem_json(private_pem: Option<&str>, public_pem: &str, secret: &str) -> String {
    hsmjwt_testkit::aem::AemAccount {
        client_id: CLIENT_ID,
        client_secret: secret,
        email: "cli@techacct.adobe.com",
        id: TECH,
        org: ORG,
        public_key: public_pem,
        private_key: private_pem,
        certificate_expiration: Some("2027-01-01T00:00:00.000Z"),
        ..hsmjwt_testkit::aem::AemAccount::example()
    }
    .to_json()
}

/// A Developer Console project with one OAuth server-to-server credential.
pub(crate) fn console_json(client_id: &str, secret: &str) -> String {
    serde_json::json!({"project": {
        "name": "cli-project",
        "org": {"ims_org_id": ORG},
        "workspace": {"name": "Production", "details": {"credentials": [{
            "name": "s2s",
            "integration_type": "oauth_server_to_server",
            "oauth_server_to_server": {
                "client_id": client_id,
                "client_secrets": [secret],
                "technical_account_id": "S2S@techacct.adobe.com",
                "technical_account_email": "s2s@techacct.adobe.com",
                "scopes": ["openid", "AdobeID", "read_organizations"],
            }
        }]}}
    }})
    .to_string()
}

fn files() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate(KeySpec::Rsa(2048)).unwrap();
        let key_pem = dir.path().join("key.pem");
        key.write_pkcs8_pem(&key_pem, true).unwrap();
        let private = key.to_pkcs8_pem().unwrap().to_string();
        let public = key.public_key().to_spki_pem();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let aem_with_key = write("aem-key.json", aem_json(Some(&private), &public, SECRET));
        let aem_without_key = write("aem.json", aem_json(None, &public, SECRET));
        let console = write("console.json", console_json(S2S_ID, S2S_SECRET));
        Files {
            dir,
            key_pem,
            aem_with_key,
            aem_without_key,
            console,
        }
    })
}

/// An emulator in this process knowing the AEM integration (also as an OAuth client with
/// its key) and the S2S client; stops when dropped.
fn emulator() -> Emulator {
    let f = files();
    emulator_for(&[&f.aem_without_key, &f.console])
}

/// An emulator in this process knowing the integrations of the credential files.
pub(crate) fn emulator_for(credentials: &[&Path]) -> Emulator {
    let mut config = EmulatorConfig::new();
    for path in credentials {
        let file = CredentialsFile::load(path).unwrap();
        config = config.with_integrations(Integration::from_credentials_file(&file).unwrap());
    }
    Emulator::start_background(config).unwrap()
}

/// `hsmjwt oauth token` at `endpoint` as the AEM client, authenticated by private_key_jwt
/// with the key file, then `extra`.
fn oauth_token(endpoint: &str, extra: &[&str]) -> crate::Run {
    let mut args = vec![
        "oauth",
        "token",
        "--token-endpoint",
        endpoint,
        "--client-id",
        CLIENT_ID,
        "--key",
        p(&files().key_pem),
    ];
    args.extend_from_slice(extra);
    hsmjwt(&args)
}

/// `hsmjwt ims jwt` with the AEM credentials holding the key, at `ims_url`, then `extra`.
fn ims_jwt(ims_url: &str, extra: &[&str]) -> crate::Run {
    let args = ["ims", "jwt", "--credentials", p(&files().aem_with_key)];
    hsmjwt(&[&args[..], &["--ims-url", ims_url], extra].concat())
}

fn assert_token_line(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("emu."), "{out}");
}

#[test]
fn ims_jwt_with_the_key_in_the_file() {
    let emu = emulator();
    let out = ims_jwt(&emu.base_url(), &[]).ok();
    assert_token_line(&out);
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1);
}

#[test]
fn ims_jwt_with_key_flag_json_and_print_jwt() {
    let emu = emulator();
    let f = files();
    let run = hsmjwt(&[
        "ims",
        "jwt",
        "--credentials",
        p(&f.aem_without_key),
        "--key",
        p(&f.key_pem),
        "--ims-url",
        &emu.base_url(),
        "--lifetime",
        "1h",
        "--print-jwt",
        "--json",
    ]);
    let stderr = run.stderr();
    let out = json(&run.ok());
    assert_eq!(out["token_type"], "bearer");
    assert!(out["access_token"].as_str().unwrap().starts_with("emu."));
    // 86399999 ms: 86399 whole seconds, not 86399999.
    assert_eq!(out["expires_in_seconds"], 86_399);
    assert!(out["expires_at"].as_str().unwrap().ends_with('Z'));
    let jwt = stderr
        .lines()
        .find(|l| l.starts_with("eyJ"))
        .expect("JWT on stderr");
    assert!(
        !stderr.contains(out["access_token"].as_str().unwrap()),
        "token only on stdout"
    );
    let claims = ::hsmjwt::decode_insecure(jwt).unwrap().claims;
    assert_eq!(claims.iss.as_deref(), Some(ORG));
    assert_eq!(claims.sub.as_deref(), Some(TECH));
    assert_eq!(
        claims.exp.unwrap().as_unix() - claims.iat.unwrap().as_unix(),
        3600
    );
}

#[test]
fn ims_jwt_without_any_key_says_how_to_give_one() {
    let f = files();
    let err = hsmjwt(&[
        "ims",
        "jwt",
        "--credentials",
        p(&f.aem_without_key),
        "--ims-url",
        "http://127.0.0.1:9",
    ])
    .fails();
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn ims_jwt_errors_are_one_line_with_status_code_and_debug_id() {
    let emu = emulator();
    let f = files();
    let public = PrivateKey::load(&f.key_pem)
        .unwrap()
        .public_key()
        .to_spki_pem();
    let wrong = f.dir.path().join("wrong-secret.json");
    std::fs::write(&wrong, aem_json(None, &public, "p8e-FAKE-wrong-secret")).unwrap();
    let err = hsmjwt(&[
        "ims",
        "jwt",
        "--credentials",
        p(&wrong),
        "--key",
        p(&f.key_pem),
        "--ims-url",
        &emu.base_url(),
    ])
    .fails();
    assert!(
        err.contains("401") && err.contains("invalid_client") && err.contains("x-debug-id"),
        "{err}"
    );
    assert!(!err.contains("p8e-FAKE"), "{err}");
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1, "no retry on 401");
}

#[test]
fn loopback_requests_bypass_proxies() {
    let emu = emulator();
    let f = files();
    // A proxy that does not exist: using it would fail.
    let proxy = "http://127.0.0.1:9";
    let out = hsmjwt_with(
        &[
            "ims",
            "jwt",
            "--credentials",
            p(&f.aem_with_key),
            "--ims-url",
            &emu.base_url(),
        ],
        None,
        &[
            ("HTTP_PROXY", proxy),
            ("http_proxy", proxy),
            ("ALL_PROXY", proxy),
        ],
    )
    .ok();
    assert_token_line(&out);
}

#[test]
fn ims_jwt_retries_a_server_error() {
    let emu = emulator();
    emu.push_fault(Fault::status(500));
    ims_jwt(&emu.base_url(), &[]).ok();
    assert_eq!(emu.requests(Endpoint::JwtExchange), 2);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let f = files();
    let err = ims_jwt("http://ims.example.com", &[]).fails();
    assert!(err.contains("loopback"), "{err}");
    let err = hsmjwt(&[
        "oauth",
        "token",
        "--token-endpoint",
        "http://10.0.0.1/token",
        "--client-id",
        "c",
        "--key",
        p(&f.key_pem),
    ])
    .fails();
    assert!(err.contains("loopback"), "{err}");
}

#[test]
fn ims_token_from_a_console_project() {
    let emu = emulator();
    let f = files();
    let out = hsmjwt(&[
        "ims",
        "token",
        "--credentials",
        p(&f.console),
        "--ims-url",
        &emu.base_url(),
        "--json",
    ])
    .ok();
    let out = json(&out);
    assert_eq!(out["expires_in_seconds"], 86_399);
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
    let err = hsmjwt(&[
        "ims",
        "token",
        "--credentials",
        p(&f.console),
        "--scopes",
        "openid,admin",
        "--ims-url",
        &emu.base_url(),
    ])
    .fails();
    assert!(err.contains("invalid_scope"), "{err}");
}

#[test]
fn ims_token_with_the_secret_in_an_environment_variable() {
    let emu = emulator();
    let args = [
        "ims",
        "token",
        "--client-id",
        S2S_ID,
        "--client-secret-env",
        "CLI_TEST_IMS_SECRET",
        "--scopes",
        "openid,AdobeID",
        "--ims-url",
        &emu.base_url(),
    ];
    let out = hsmjwt_with(&args, None, &[("CLI_TEST_IMS_SECRET", S2S_SECRET)]).ok();
    assert_token_line(&out);
    let err = hsmjwt(&args).fails();
    assert!(
        err.contains("CLI_TEST_IMS_SECRET") && err.contains("not set"),
        "{err}"
    );
    let err = hsmjwt_with(&args, None, &[("CLI_TEST_IMS_SECRET", "p8e-FAKE-bad")]).fails();
    assert!(
        err.contains("invalid_client") && !err.contains("p8e-FAKE-bad"),
        "{err}"
    );
    // There is no flag taking the secret itself.
    let run = hsmjwt(&[
        "ims",
        "token",
        "--client-id",
        S2S_ID,
        "--client-secret",
        "x",
    ]);
    assert_eq!(run.out.status.code(), Some(2));
}

#[test]
fn oauth_token_private_key_jwt_and_jwt_bearer() {
    let emu = emulator();
    let f = files();
    let endpoint = emu.token_endpoint();
    assert_token_line(&oauth_token(&endpoint, &[]).ok());
    let run = oauth_token(
        &endpoint,
        &[
            "--grant",
            "jwt-bearer",
            "--subject",
            "user@example.com",
            "--json",
        ],
    );
    let out = json(&run.ok());
    assert_eq!(out["token_type"], "Bearer");
    assert_eq!(out["expires_in_seconds"], 3600);
    oauth_token(
        &endpoint,
        &[
            "--scope",
            "read",
            "--audience",
            "https://api.example",
            "--resource",
            "https://api.example/v1",
        ],
    )
    .ok();
    assert_eq!(emu.requests(Endpoint::OAuthToken), 3);
    // Another key: refused.
    let other = f.dir.path().join("other.pem");
    PrivateKey::generate(KeySpec::Rsa(2048))
        .unwrap()
        .write_pkcs8_pem(&other, true)
        .unwrap();
    let err = hsmjwt(&[
        "oauth",
        "token",
        "--token-endpoint",
        &endpoint,
        "--client-id",
        CLIENT_ID,
        "--key",
        p(&other),
    ])
    .fails();
    assert!(
        err.contains("401") && err.contains("invalid_client"),
        "{err}"
    );
}

#[test]
fn oauth_token_with_client_secrets() {
    let emu = emulator();
    let endpoint = emu.token_endpoint();
    for auth in ["client-secret-post", "client-secret-basic"] {
        let out = hsmjwt_with(
            &[
                "oauth",
                "token",
                "--token-endpoint",
                &endpoint,
                "--client-id",
                S2S_ID,
                "--client-secret-env",
                "CLI_TEST_OAUTH_SECRET",
                "--auth",
                auth,
                "--scope",
                "openid",
            ],
            None,
            &[("CLI_TEST_OAUTH_SECRET", S2S_SECRET)],
        )
        .ok();
        assert_token_line(&out);
    }
    let err = hsmjwt(&[
        "oauth",
        "token",
        "--token-endpoint",
        &endpoint,
        "--client-id",
        S2S_ID,
    ])
    .fails();
    assert!(
        err.contains("--key") || err.contains("--client-secret-env"),
        "{err}"
    );
}

/// Starts `hsmjwt ims emulator` as a child; returns it and its base URL.
fn child_emulator(credentials: &[&Path]) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsmjwt"));
    cmd.args([
        "ims",
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--credentials",
    ]);
    for c in credentials {
        cmd.arg(c);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

#[test]
fn a_child_emulator_serves_until_killed() {
    let f = files();
    let (mut child, url) = child_emulator(&[&f.aem_without_key, &f.console]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let result = std::panic::catch_unwind(|| {
        let out = hsmjwt(&[
            "ims",
            "jwt",
            "--credentials",
            p(&f.aem_without_key),
            "--key",
            p(&f.key_pem),
            "--ims-url",
            &url,
        ])
        .ok();
        assert_token_line(&out);
        let out = hsmjwt(&[
            "ims",
            "token",
            "--credentials",
            p(&f.console),
            "--ims-url",
            &url,
        ])
        .ok();
        assert_token_line(&out);
    });
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn the_emulator_refuses_a_non_loopback_address() {
    let f = files();
    let err = hsmjwt(&[
        "ims",
        "emulator",
        "--listen",
        "0.0.0.0:0",
        "--credentials",
        p(&f.aem_without_key),
    ])
    .fails();
    assert!(err.contains("loopback"), "{err}");
}

/// Runs `hsmjwt` and fails the test if it is still running after `limit` (killing it).
fn hsmjwt_within(args: &[&str], limit: Duration) -> crate::Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hsmjwt"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`hsmjwt {}` still running after {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    crate::Run {
        out: child.wait_with_output().unwrap(),
    }
}

#[test]
fn the_emulator_refuses_lifetimes_its_clients_cannot_use() {
    let f = files();
    for (flag, value) in [
        ("--v3-token-lifetime", "8000y"),
        ("--v3-token-lifetime", "500ms"),
        ("--jwt-token-lifetime", "0s"),
        ("--jwt-token-lifetime", "11y"),
    ] {
        let err = hsmjwt_within(
            &[
                "ims",
                "emulator",
                "--credentials",
                p(&f.console),
                flag,
                value,
            ],
            Duration::from_secs(20),
        )
        .fails();
        assert!(
            err.starts_with(&format!("error: invalid {flag}: invalid `")),
            "{flag} {value}: {err}"
        );
    }
}

/// A token response with `expires_in` = 2^62 in the endpoint's unit.
const HUGE: &str =
    r#"{"token_type":"bearer","access_token":"emu.huge","expires_in":4611686018427387904}"#;

#[test]
fn a_huge_expires_in_is_one_error_line_not_a_panic() {
    let emu = emulator();
    let f = files();
    let url = emu.base_url();
    let runs: [&dyn Fn() -> crate::Run; 3] = [
        &|| oauth_token(&emu.token_endpoint(), &["--json"]),
        &|| {
            let args = ["ims", "token", "--credentials", p(&f.console)];
            hsmjwt(&[&args[..], &["--ims-url", &url, "--json"]].concat())
        },
        &|| ims_jwt(&url, &["--json"]),
    ];
    for (i, run) in runs.iter().enumerate() {
        emu.push_fault(Fault::body(200, HUGE));
        let err = run().fails();
        assert!(
            err.contains("`expires_in` 4611686018427387904 ")
                && err.contains("is beyond the supported maximum"),
            "command {i}: {err}"
        );
        assert!(!err.contains("emu.huge"), "{err}");
    }
}

#[test]
fn token_json_keeps_scope_and_notes_refresh_and_id_tokens() {
    let emu = emulator();
    let endpoint = emu.token_endpoint();
    // Azure AD v1 style: expires_in as a string.
    emu.push_fault(Fault::body(
        200,
        r#"{"token_type":"Bearer","access_token":"emu.t","expires_in":"3599","scope":"read write","refresh_token":"RT-SECRET-VALUE","id_token":"ID-SECRET-VALUE"}"#,
    ));
    let run = oauth_token(&endpoint, &["--json"]);
    let stderr = run.stderr();
    let stdout = run.ok();
    let out = json(&stdout);
    assert_eq!(out["expires_in_seconds"], 3599);
    assert_eq!(out["scope"], "read write");
    assert_eq!(out["refresh_token"], "present (not shown)");
    assert_eq!(out["id_token"], "present (not shown)");
    assert!(!format!("{stdout}{stderr}").contains("SECRET-VALUE"));
    // No expires_in: the default hour, said with -v; no scope, no refresh or ID token.
    emu.push_fault(Fault::body(
        200,
        r#"{"token_type":"bearer","access_token":"emu.t"}"#,
    ));
    let run = oauth_token(&endpoint, &["--json", "-v"]);
    let stderr = run.stderr();
    let out = json(&run.ok());
    assert_eq!(out["expires_in_seconds"], 3600);
    assert!(out["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(out["scope"].is_null() && out["refresh_token"].is_null() && out["id_token"].is_null());
    assert!(stderr.contains("no expires_in"), "{stderr}");
}

#[test]
fn the_time_limit_covers_the_whole_command() {
    let emu = emulator();
    let endpoint = emu.token_endpoint();
    emu.push_fault(Fault::too_many_requests(100_000));
    let started = Instant::now();
    let err = oauth_token(&endpoint, &["--timeout", "2s"]).fails();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("the server asked to retry after 100000 s, beyond the 2 s time limit")
            && err.contains("429"),
        "{err}"
    );
    assert_eq!(emu.requests(Endpoint::OAuthToken), 1);
    let err = oauth_token(&endpoint, &["--timeout", "0s"]).fails();
    assert!(err.contains("--timeout must be longer than 0 s"), "{err}");
}

#[test]
fn a_failure_after_retries_prints_one_line() {
    let emu = emulator();
    emu.push_faults(4, &Fault::status(503));
    let err = ims_jwt(&emu.base_url(), &[]).fails();
    assert!(err.contains("503"), "{err}");
    assert_eq!(emu.requests(Endpoint::JwtExchange), 4);
}

#[test]
fn a_refused_certificate_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // openssl's TLS server, with a self-signed certificate no trust store knows.
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-key",
        ])
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        let started = Instant::now();
        while !hsmjwt_testkit::net::accepts(port, Duration::from_millis(200)) {
            assert!(started.elapsed() < Duration::from_secs(10), "no TLS server");
            std::thread::sleep(Duration::from_millis(50));
        }
        let endpoint = format!("https://127.0.0.1:{port}/oauth/token");
        let err = oauth_token(&endpoint, &[]).fails();
        assert!(
            err.contains(&format!(
                "tls handshake with {endpoint} failed: the server's certificate was refused"
            )),
            "{err}"
        );
    });
    server.kill().unwrap();
    server.wait().unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn demo_with_a_software_key() {
    let out = hsmjwt(&["demo", "--software-key"]).ok();
    for needle in [
        "1. key",
        "3. emulator",
        "header:",
        "claims:",
        "86399999 ms",
        "6. cache",
        "removed",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    assert!(
        !out.contains("emu."),
        "the demo does not print the access token: {out}"
    );
}

// ---- SoftHSM2 ----

#[test]
fn demo_with_softhsm() {
    if softhsm::installed_or_skip().is_none() {
        return;
    }
    let out = hsmjwt(&["demo"]).ok();
    for needle in [
        "0. SoftHSM2",
        "generated inside the token",
        "5. exchange",
        "6. cache",
        "cleaned up",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}

#[test]
fn ims_jwt_and_oauth_with_a_softhsm_key() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation).token("cli-ims").build().unwrap();
    let run = |args: &[&str]| hsmjwt_softhsm(&hsm, args, Some(PIN));
    let uri = "pkcs11:token=cli-ims;object=ims-key";
    run(&["keygen", "--alg", "RS256", "--key", uri]).ok();
    let public = run(&["pubkey", "--key", uri]).ok();
    // The user keeps the AEM file without privateKey; the emulator knows the HSM key.
    let creds = hsm.root().join("aem.json");
    std::fs::write(&creds, aem_json(None, &public, SECRET)).unwrap();
    let file = CredentialsFile::load(&creds).unwrap();
    let emu = Emulator::start_background(
        EmulatorConfig::new().with_integrations(Integration::from_credentials_file(&file).unwrap()),
    )
    .unwrap();
    let out = run(&[
        "ims",
        "jwt",
        "--credentials",
        p(&creds),
        "--key",
        uri,
        "--ims-url",
        &emu.base_url(),
    ])
    .ok();
    assert_token_line(&out);
    let out = run(&[
        "oauth",
        "token",
        "--token-endpoint",
        &emu.token_endpoint(),
        "--client-id",
        CLIENT_ID,
        "--key",
        uri,
    ])
    .ok();
    assert_token_line(&out);
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1);
    assert_eq!(emu.requests(Endpoint::OAuthToken), 1);
    // The file's key (software) no longer matches the registered HSM key.
    let err = ims_jwt(&emu.base_url(), &[]).fails();
    assert!(err.contains("invalid_signature"), "{err}");
}
