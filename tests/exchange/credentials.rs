//! Credential files of each kind, written here with fake values.

use hsmjwt_core::NumericDate;
use hsmjwt_ims::{ConsoleCredential, CredentialsFile, CredentialsFormat, Error, ExposeSecret};

use crate::support::*;

fn no_secrets(debug: &str) {
    for s in [
        CLIENT_SECRET,
        S2S_SECRET,
        "p8e-FAKE-legacy-secret",
        "PRIVATE KEY",
    ] {
        assert!(!debug.contains(s), "{s} leaked: {debug}");
    }
}

#[test]
fn aem_service_credentials_with_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "aem.json",
        &aem_json(true, &keys().cert_pem, "ent_aem_cloud_api, ent_other"),
    );
    let file = CredentialsFile::load(&path).unwrap();
    no_secrets(&format!("{file:?}"));
    let c = file.service_account().unwrap();
    assert_eq!(c.format, CredentialsFormat::AemServiceCredentials);
    assert_eq!(c.client_id, CLIENT_ID);
    assert_eq!(c.client_secret.expose_secret(), CLIENT_SECRET);
    assert_eq!(c.org_id, ORG);
    assert_eq!(c.technical_account_id, TECH);
    assert_eq!(
        c.technical_account_email.as_deref(),
        Some("fedcba98-7654-3210@techacct.adobe.com")
    );
    assert_eq!(c.ims_host, "ims-na1.adobelogin.com");
    assert_eq!(c.metascopes, ["ent_aem_cloud_api", "ent_other"]);
    let key = c.private_key.as_ref().unwrap().expose_secret();
    assert!(key.contains("BEGIN PRIVATE KEY"));
    hsmjwt_soft::PrivateKey::from_pem(key).unwrap();
    assert!(
        c.certificate_pem
            .as_deref()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(
        c.certificate_expiration_date.as_deref(),
        Some("2027-02-14T07:35:37.000Z")
    );
    // notAfter comes from the certificate itself: openssl made it valid for 365 days.
    let not_after = c.certificate_not_after().unwrap().unwrap().as_unix();
    let expected = NumericDate::now().as_unix() + 365 * 86_400;
    assert!(
        (not_after - expected).abs() < 3600,
        "{not_after} vs {expected}"
    );
    assert!(file.oauth_server_to_server().is_err());
}

#[test]
fn aem_service_credentials_without_private_key() {
    let file = CredentialsFile::from_json(
        aem_json(false, &keys().cert_pem, "ent_aem_cloud_api").as_bytes(),
    )
    .unwrap();
    let c = file.service_account().unwrap();
    assert!(c.private_key.is_none());
    assert_eq!(c.metascopes, ["ent_aem_cloud_api"]);
}

#[test]
fn aem_expiry_date_without_a_certificate() {
    let file =
        CredentialsFile::from_json(aem_json(false, &keys().public_pem, "m").as_bytes()).unwrap();
    let c = file.service_account().unwrap();
    assert_eq!(
        c.certificate_not_after().unwrap(),
        Some(NumericDate::from_unix(1_802_590_537))
    );
}

#[test]
fn console_project_with_s2s_and_jwt() {
    let file = CredentialsFile::from_json(console_json().as_bytes()).unwrap();
    no_secrets(&format!("{file:?}"));
    let CredentialsFile::Console(project) = &file else {
        panic!("{file:?}");
    };
    assert_eq!(project.org_id, ORG);
    assert_eq!(project.project_name.as_deref(), Some("fake-project"));
    assert_eq!(project.workspace_name.as_deref(), Some("Stage"));
    assert_eq!(project.credentials.len(), 2);
    let o = file.oauth_server_to_server().unwrap();
    assert_eq!(o.client_id, S2S_CLIENT_ID);
    assert_eq!(o.client_secret.expose_secret(), S2S_SECRET);
    assert_eq!(o.scopes, S2S_SCOPES);
    assert_eq!(o.org_id.as_deref(), Some(ORG));
    assert_eq!(
        o.technical_account_id.as_deref(),
        Some("ABC@techacct.adobe.com")
    );
    assert_eq!(
        o.technical_account_email.as_deref(),
        Some("abc@techacct.adobe.com")
    );
    assert_eq!(o.name.as_deref(), Some("OAuth S2S"));
    let j = file.service_account().unwrap();
    assert_eq!(j.client_id, "legacy-client");
    assert_eq!(j.org_id, ORG);
    assert_eq!(j.technical_account_id, "LEGACY@techacct.adobe.com");
    assert_eq!(
        j.metascopes,
        ["ent_analytics_bulk_ingest_sdk", "ent_dataservices_sdk"]
    );
    assert!(matches!(project.credentials[1], ConsoleCredential::Jwt(_)));
}

#[test]
fn malformed_documents_name_the_field() {
    let k = &keys().cert_pem;
    let cases: Vec<(String, &str)> = vec![
        ("{".into(), "JSON"),
        ("[]".into(), "object"),
        (r#"{"something":1}"#.into(), "neither"),
        (aem_json(false, k, ""), "metascopes"),
        (
            aem_json(false, k, "m").replace(CLIENT_SECRET, ""),
            "clientSecret",
        ),
        (aem_json(false, k, "m").replace(ORG, ""), "org"),
        (
            aem_json(false, k, "m").replace("\"ims-na1.adobelogin.com\"", "\"bad host/x\""),
            "ims host",
        ),
        (
            aem_json(false, k, "m").replace("\"ok\":true", "\"ok\":false"),
            "ok: false",
        ),
        (console_json().replace(S2S_SECRET, ""), "client_secrets"),
        (console_json().replace(ORG, ""), "ims_org_id"),
        (
            console_json().replace("\"techacct\"", "\"other\""),
            "technical_account_id",
        ),
    ];
    for (doc, field) in cases {
        let err = match CredentialsFile::from_json(doc.as_bytes()) {
            Ok(f) => panic!("accepted: {f:?}"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(text.contains(field), "{field}: {text}");
        no_secrets(&text);
        assert!(!matches!(err, Error::Io { .. }));
    }
}

#[test]
fn secrets_from_the_environment() {
    let e = hsmjwt_oauth::secret::from_env("HSMJWT_IMS_TEST_SURELY_UNSET").unwrap_err();
    assert!(e.to_string().contains("is not set"), "{e}");
    // PATH is set in any test environment; its value is not shown in Debug.
    let s = hsmjwt_oauth::secret::from_env("PATH").unwrap();
    assert!(!format!("{s:?}").contains('/'));
}
