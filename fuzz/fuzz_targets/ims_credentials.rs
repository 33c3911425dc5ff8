//! Credential files users already have: AEM service credentials and Adobe Developer Console
//! project JSON (`CredentialsFile::from_json`), and the credentials taken out of them.

#![no_main]

use hsmjwt_ims::CredentialsFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = CredentialsFile::from_json(data) else {
        return;
    };
    if let Ok(creds) = file.service_account() {
        let _ = creds.service_account_jwt("ims-na1.adobelogin.com");
        let _ = creds.certificate_not_after();
    }
    let _ = file.oauth_server_to_server();
    let _ = format!("{file:?}");
});
