//! Inputs the fuzz targets of `fuzz/` once crashed on, kept as regression tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt_ims::CredentialsFile;

fn aem_credentials(expiration: &str) -> String {
    format!(
        r#"{{"ok": true, "integration": {{
  "imsEndpoint": "ims-na1.adobelogin.com", "metascopes": "ent_aem_cloud_api",
  "technicalAccount": {{"clientId": "cm-p124-e456-integration", "clientSecret": "not-a-secret"}},
  "email": "0123456789ABCDEF@techacct.adobe.com", "id": "0123456789ABCDEF@techacct.adobe.com",
  "org": "NEDCBA9876543210@AdobeOrg",
  "certificateExpirationDate": "{expiration}"}}, "statusCode": 200}}"#
    )
}

/// fuzz target `ims_credentials`: a `certificateExpirationDate` with a 37-digit year
/// overflowed the day count (a panic with overflow checks, a wrong date without). Dates
/// outside RFC 3339's four-digit years and clock ranges are errors.
#[test]
fn huge_or_negative_date_fields_are_errors_not_overflows() {
    for date in [
        "0000000000000000000520325690090149124-02-14T07:35:37.000Z",
        "-9223372036854775808-02-14T07:35:37Z",
        "10000-01-01T00:00:00Z",
        "2026-02-14T-1:35:37Z",
        "2026-02-14T07:-5:37Z",
        "2026-02-14T07:35:-7Z",
    ] {
        let file = CredentialsFile::from_json(aem_credentials(date).as_bytes()).unwrap();
        let creds = file.service_account().unwrap();
        assert!(creds.certificate_not_after().is_err(), "{date}");
    }
    let file =
        CredentialsFile::from_json(aem_credentials("2026-02-14T07:35:37.000Z").as_bytes()).unwrap();
    let not_after = file.service_account().unwrap().certificate_not_after();
    assert_eq!(
        not_after.unwrap().map(hsmjwt_core::NumericDate::as_unix),
        Some(1_771_054_537)
    );
}
