//! AEM service-account credentials files, shaped as Adobe's Developer Console (Cloud
//! Manager) gives them, for tests and demos that exchange tokens with the IMS emulator.

/// The fields of one credentials file. [`AemAccount::example`] fills them with a made-up
/// account; set the ones a test cares about:
///
/// ```
/// let account = hsmjwt_testkit::aem::AemAccount {
///     client_id: "my-client",
///     public_key: "-----BEGIN CERTIFICATE-----\n...",
///     ..hsmjwt_testkit::aem::AemAccount::example()
/// };
/// assert!(account.to_json().contains("\"clientId\":\"my-client\""));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AemAccount<'a> {
    /// `technicalAccount.clientId`.
    pub client_id: &'a str,
    /// `technicalAccount.clientSecret`.
    pub client_secret: &'a str,
    /// `email`.
    pub email: &'a str,
    /// `id`: the technical account (`...@techacct.adobe.com`), the JWT's `sub`.
    pub id: &'a str,
    /// `org`: the organization (`...@AdobeOrg`), the JWT's `iss`.
    pub org: &'a str,
    /// `metascopes`, comma-separated.
    pub metascopes: &'a str,
    /// `publicKey`: the certificate (or public key) PEM.
    pub public_key: &'a str,
    /// `privateKey`, when the file carries the key (written with CRLF line ends, as Adobe
    /// writes it).
    pub private_key: Option<&'a str>,
    /// `certificateExpirationDate` (RFC 3339), when given.
    pub certificate_expiration: Option<&'a str>,
}

impl AemAccount<'static> {
    /// A made-up account: client `test-client` with a test secret, technical account
    /// `TEST0000@techacct.adobe.com` of `TEST0000@AdobeOrg`, metascope
    /// `ent_aem_cloud_api`, no key.
    #[must_use]
    pub fn example() -> Self {
        AemAccount {
            client_id: "test-client",
            client_secret: "p8e-test-secret",
            email: "test@techacct.adobe.com",
            id: "TEST0000@techacct.adobe.com",
            org: "TEST0000@AdobeOrg",
            metascopes: "ent_aem_cloud_api",
            public_key: "",
            private_key: None,
            certificate_expiration: None,
        }
    }
}

impl AemAccount<'_> {
    /// The file's JSON text, on one line (see [`to_value`](Self::to_value)).
    #[must_use]
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The file's JSON: `{"ok": true, "integration": {...}, "statusCode": 200}`, the
    /// integration's members in Adobe's order (`privateKey`, when there is one, last).
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        let mut integration = serde_json::Map::new();
        let mut put = |name: &str, value: serde_json::Value| {
            integration.insert(name.to_owned(), value);
        };
        put("imsEndpoint", "ims-na1.adobelogin.com".into());
        put("metascopes", self.metascopes.into());
        put(
            "technicalAccount",
            serde_json::json!({"clientId": self.client_id, "clientSecret": self.client_secret}),
        );
        put("email", self.email.into());
        put("id", self.id.into());
        put("org", self.org.into());
        put("publicKey", self.public_key.into());
        if let Some(date) = self.certificate_expiration {
            put("certificateExpirationDate", date.into());
        }
        if let Some(pem) = self.private_key {
            put(
                "privateKey",
                pem.replace("\r\n", "\n").replace('\n', "\r\n").into(),
            );
        }
        let mut file = serde_json::Map::new();
        file.insert("ok".to_owned(), true.into());
        file.insert("integration".to_owned(), integration.into());
        file.insert("statusCode".to_owned(), 200.into());
        serde_json::Value::Object(file)
    }
}
