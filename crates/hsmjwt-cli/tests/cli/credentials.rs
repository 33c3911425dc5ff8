//! `hsmjwt credentials check` on AEM service credentials and Developer Console projects.

use std::path::{Path, PathBuf};

use crate::{Run, hsmjwt, json, openssl, p};

const SECRET: &str = "p8e-FAKE-check-secret-0042";

/// An AEM service-credentials file as the Developer Console writes it: a PKCS#1 key and a
/// certificate, both with CRLF line ends.
fn aem(dir: &Path, name: &str, key: Option<&Path>, cert: &Path) -> PathBuf {
    let crlf = |p: &Path| std::fs::read_to_string(p).unwrap().replace('\n', "\r\n");
    let mut integration = serde_json::json!({
        "imsEndpoint": "ims-na1.adobelogin.com",
        "metascopes": "ent_aem_cloud_api,ent_cloudmgr_sdk",
        "technicalAccount": {"clientId": "cm-p1-e2-integration", "clientSecret": SECRET},
        "email": "x@techacct.adobe.com",
        "id": "TECH0001@techacct.adobe.com",
        "org": "ORG0001@AdobeOrg",
        "publicKey": crlf(cert),
        "certificateExpirationDate": "2030-01-01T00:00:00.000Z",
    });
    if let Some(k) = key {
        integration["privateKey"] = crlf(k).into();
    }
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::json!({"ok": true, "integration": integration, "statusCode": 200}).to_string(),
    )
    .unwrap();
    path
}

struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    other_key: PathBuf,
    cert: PathBuf,
    short_cert: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["genrsa", "-traditional", "-out", "key.pem", "2048"]);
    openssl(d, &["genrsa", "-traditional", "-out", "other.pem", "2048"]);
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-key",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "365",
            "-subj",
            "/CN=aem-integration",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-key",
            "key.pem",
            "-out",
            "short.pem",
            "-days",
            "10",
            "-subj",
            "/CN=aem-short",
        ],
    );
    Fixture {
        key: d.join("key.pem"),
        other_key: d.join("other.pem"),
        cert: d.join("cert.pem"),
        short_cert: d.join("short.pem"),
        dir,
    }
}

fn no_secrets(run: &Run, key: &Path) {
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(!all.contains(SECRET), "client secret printed");
    let key_line = std::fs::read_to_string(key)
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    assert!(!all.contains(&key_line), "private key printed");
}

#[test]
fn a_healthy_aem_file() {
    let f = fixture();
    let file = aem(f.dir.path(), "aem.json", Some(&f.key), &f.cert);
    let run = hsmjwt(&["credentials", "check", "--credentials", p(&file)]);
    no_secrets(&run, &f.key);
    let out = run.ok();
    assert!(out.contains("JWT exchange"), "{out}");
    assert!(out.contains("belong together"), "{out}");
    assert!(out.contains("valid for 36"), "{out}");
    assert!(
        out.contains("https://ims-na1.adobelogin.com/s/ent_cloudmgr_sdk"),
        "{out}"
    );
    assert!(
        out.contains("https://ims-na1.adobelogin.com/c/cm-p1-e2-integration"),
        "{out}"
    );

    let v = json(&hsmjwt(&["credentials", "check", "--credentials", p(&file), "--json"]).ok());
    assert_eq!(v["ok"], true);
    assert_eq!(v["service_account"]["client_secret"], "present (not shown)");
    assert_eq!(v["claims"]["iss"], "ORG0001@AdobeOrg");
    assert_eq!(v["claims"]["sub"], "TECH0001@techacct.adobe.com");
}

#[test]
fn key_outside_the_file() {
    let f = fixture();
    let file = aem(f.dir.path(), "aem-nokey.json", None, &f.cert);
    let out = hsmjwt(&["credentials", "check", "--credentials", p(&file)]).ok();
    assert!(out.contains("not checked"), "{out}");
    let out = hsmjwt(&[
        "credentials",
        "check",
        "--credentials",
        p(&file),
        "--key",
        p(&f.key),
    ])
    .ok();
    assert!(out.contains("belong together"), "{out}");
    let run = hsmjwt(&[
        "credentials",
        "check",
        "--credentials",
        p(&file),
        "--key",
        p(&f.other_key),
    ]);
    assert_eq!(run.out.status.code(), Some(1));
    assert!(run.stdout().contains("does not match"), "{}", run.stdout());
}

#[test]
fn expired_and_expiring_certificates() {
    let f = fixture();
    let file = aem(f.dir.path(), "aem.json", Some(&f.key), &f.cert);
    let in_two_years = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2 * 365 * 86_400)
        .to_string();
    let run = hsmjwt(&[
        "credentials",
        "check",
        "--credentials",
        p(&file),
        "--now",
        &in_two_years,
    ]);
    assert_eq!(run.out.status.code(), Some(1));
    assert!(run.stdout().contains("expired"), "{}", run.stdout());

    let soon = aem(f.dir.path(), "aem-soon.json", Some(&f.key), &f.short_cert);
    let out = hsmjwt(&["credentials", "check", "--credentials", p(&soon)]).ok();
    assert!(
        out.contains("warning") && out.contains("expires in"),
        "{out}"
    );
}

#[test]
fn a_console_project() {
    let f = fixture();
    let path = f.dir.path().join("console.json");
    std::fs::write(
        &path,
        serde_json::json!({"project": {
            "name": "p", "org": {"ims_org_id": "ORG0001@AdobeOrg"},
            "workspace": {"name": "Production", "details": {"credentials": [{
                "name": "s2s", "integration_type": "oauth_server_to_server",
                "oauth_server_to_server": {
                    "client_id": "s2s-client", "client_secrets": [SECRET],
                    "technical_account_id": "S2S@techacct.adobe.com",
                    "technical_account_email": "s2s@techacct.adobe.com",
                    "scopes": ["openid", "AdobeID"],
                }
            }]}}
        }})
        .to_string(),
    )
    .unwrap();
    let run = hsmjwt(&["credentials", "check", "--credentials", p(&path)]);
    no_secrets(&run, &f.key);
    let out = run.ok();
    assert!(out.contains("OAuth server-to-server"), "{out}");
    let broken = f.dir.path().join("broken.json");
    std::fs::write(&broken, "{\"integration\": 5}").unwrap();
    hsmjwt(&["credentials", "check", "--credentials", p(&broken)]).fails();
}
