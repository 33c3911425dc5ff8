//! The IMS and OAuth flows with an RSA key generated inside a SoftHSM2 token.
//!
//! SoftHSM reads `SOFTHSM2_CONF` at `C_Initialize`, so the test makes a token with
//! `hsmjwt_testkit`'s fixture, then runs this one test again in a child with the token's
//! environment; the child does the work. Without SoftHSM2 the test prints a skip line,
//! unless `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set: then it fails.

use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::{Algorithm, Signer};
use hsmjwt_emulator::{Emulator, EmulatorConfig, Endpoint, Integration};
use hsmjwt_ims::{ImsClient, ImsEndpoint, JwtExchange, ServiceAccountCredentials};
use hsmjwt_oauth::{
    ClientAuth, HttpClient, HttpOptions, JwtBearerGrant, OAuthClient, SecretString, TokenCache,
    TokenParams,
};
use hsmjwt_pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions};
use hsmjwt_testkit::softhsm::{self, Builder, Rerun, SoftHsm};

const TOKEN: &str = "ims-test";

#[test]
fn ims_flows_with_a_softhsm_key() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let spec = Builder::new(installation).token(TOKEN);
    if let Some(hsm) = spec.attach().unwrap() {
        return child(&hsm);
    }
    let status = spec
        .build()
        .unwrap()
        .rerun(&Rerun::one_test("softhsm::ims_flows_with_a_softhsm_key").env_remove("HSMJWT_PIN"))
        .unwrap();
    assert!(status.success(), "the SoftHSM child failed: {status}");
}

fn uri(hsm: &SoftHsm, object: &str) -> Pkcs11Uri {
    Pkcs11Uri::new()
        .with_token(TOKEN)
        .with_object(object)
        .with_module_path(hsm.module())
        .with_pin_value(hsm.pin().clone())
}

fn child(hsm: &SoftHsm) {
    let jwk = hsm
        .generate_key(TOKEN, "ims-rsa", |_| {
            hsmjwt_pkcs11::generate_key_pair(&uri(hsm, "ims-rsa"), Algorithm::RS256, None)
        })
        .unwrap();
    let public_pem = hsmjwt_soft::PublicKey::from_jwk(&jwk)
        .unwrap()
        .to_spki_pem();
    let signer: Arc<dyn Signer> = Arc::new(
        Pkcs11Signer::open(
            &uri(hsm, "ims-rsa"),
            SignerOptions::default().with_algorithm(Algorithm::RS256),
        )
        .unwrap(),
    );
    let creds = ServiceAccountCredentials::new(
        "hsm-client",
        SecretString::from("p8e-FAKE-hsm-secret"),
        "HSMORG@AdobeOrg",
        "HSMTECH@techacct.adobe.com",
        vec!["ent_aem_cloud_api".into()],
    )
    .with_certificate_pem(public_pem);
    let config =
        EmulatorConfig::new().with_integration(Integration::from_service_account(&creds).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let emu = Emulator::start(config).await.unwrap();
        let http =
            HttpClient::new(HttpOptions::default().with_request_timeout(Duration::from_secs(10)))
                .unwrap();
        let endpoint = ImsEndpoint::production()
            .with_base_url(&emu.base_url())
            .unwrap();
        let client = ImsClient::with_http(endpoint, http.clone());

        // JWT exchange, through the cache, with concurrent callers.
        let cache = TokenCache::new(JwtExchange::from_credentials(
            client,
            &creds,
            signer.clone(),
        ));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move { cache.get().await }));
        }
        for t in tasks {
            let token = t.await.unwrap().unwrap();
            assert_eq!(token.expires_in(), Duration::from_millis(86_399_999));
        }
        assert!(emu.requests(Endpoint::JwtExchange) >= 1);
        assert_eq!(cache.fetch_count(), 1);

        // OAuth: private_key_jwt and the JWT-bearer grant with the HSM key.
        let auth = ClientAuth::private_key_jwt(signer.clone(), emu.token_endpoint());
        let oauth = OAuthClient::new(&emu.token_endpoint(), "hsm-client", auth)
            .unwrap()
            .with_http(http);
        oauth.client_credentials(&TokenParams::new()).await.unwrap();
        oauth
            .jwt_bearer(
                JwtBearerGrant::new(signer).with_subject("someone"),
                &TokenParams::new(),
            )
            .await
            .unwrap();
        assert_eq!(emu.requests(Endpoint::OAuthToken), 2);
        emu.shutdown().await;
    });
    eprintln!("SoftHSM: JWT exchange, private_key_jwt and JWT-bearer grant passed");
}
