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
use hsmjwt_testkit::faults::Faults;
use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};

const TOKEN: &str = "ims-test";

#[test]
fn ims_flows_with_a_softhsm_key() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(TOKEN)
        .run_in_child(
            "softhsm::ims_flows_with_a_softhsm_key",
            |_, rerun| rerun,
            child,
        )
        .unwrap();
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

/// The token of [`a_held_hsm_signature_fails_the_exchange_in_time`].
const HELD: &str = "ims-held";

/// An HSM whose `C_Sign` never returns (held by the fault module in front of SoftHSM2) does
/// not hang the async paths: the IMS JWT exchange and an OAuth `private_key_jwt` call fail
/// with `SignTimeout` once `HttpOptions::sign_timeout` (1 s here) has passed; the session
/// held by the stuck call is not handed out again (the next exchange signs on the pool's
/// other session and succeeds); released, the stuck calls end.
#[test]
fn a_held_hsm_signature_fails_the_exchange_in_time() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    Builder::new(installation)
        .token(HELD)
        .key(HELD, "ims-rsa", "01", "rsa:2048")
        .run_in_child(
            "softhsm::a_held_hsm_signature_fails_the_exchange_in_time",
            |hsm, rerun| rerun.env("HSMJWT_FAULTS_TARGET", hsm.module()),
            held_child,
        )
        .unwrap();
}

fn held_child(hsm: &SoftHsm) {
    let faults = Faults::load(&Faults::find().unwrap()).unwrap();
    let uri = Pkcs11Uri::new()
        .with_token(HELD)
        .with_object("ims-rsa")
        .with_module_path(faults.path())
        .with_pin_value(hsm.pin().clone());
    let signer: Arc<dyn Signer> = Arc::new(
        Pkcs11Signer::open(
            &uri,
            SignerOptions::default()
                .with_algorithm(Algorithm::RS256)
                .with_pool_size(2),
        )
        .unwrap(),
    );
    let public_pem = hsmjwt_soft::PublicKey::from_jwk(signer.public_key())
        .unwrap()
        .to_spki_pem();
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
    let limit = Duration::from_secs(1);
    runtime.block_on(async {
        let emu = Emulator::start(config).await.unwrap();
        let http = HttpClient::new(
            HttpOptions::default()
                .with_request_timeout(Duration::from_secs(10))
                .with_sign_timeout(limit),
        )
        .unwrap();
        let endpoint = ImsEndpoint::production()
            .with_base_url(&emu.base_url())
            .unwrap();
        let exchange = JwtExchange::from_credentials(
            ImsClient::with_http(endpoint, http.clone()),
            &creds,
            signer.clone(),
        );

        // The next C_Sign is held: the JWT exchange fails in time, naming the limit.
        faults.hold_signs(1);
        let started = std::time::Instant::now();
        let e = exchange.sign_jwt().await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(e, hsmjwt_oauth::Error::SignTimeout { .. }),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("signing the service-account JWT did not finish within 1s"),
            "{e}"
        );
        assert!(took >= limit && took < limit * 5, "{took:?}");
        assert_eq!(faults.signs_blocked(), 1);

        // Meanwhile the held session is not given out: the next exchange signs on the
        // other one and goes through.
        let jwt = exchange.sign_jwt().await.unwrap();
        exchange.exchange(&jwt).await.unwrap();

        // An OAuth client assertion held the same way fails the call in time.
        faults.hold_signs(1);
        let auth = ClientAuth::private_key_jwt(signer.clone(), emu.token_endpoint());
        let oauth = OAuthClient::new(&emu.token_endpoint(), "hsm-client", auth)
            .unwrap()
            .with_http(http);
        let started = std::time::Instant::now();
        let e = oauth
            .client_credentials(&TokenParams::new())
            .await
            .unwrap_err();
        assert!(
            matches!(e, hsmjwt_oauth::Error::SignTimeout { .. }),
            "{e:?}"
        );
        assert!(started.elapsed() < limit * 5);
        assert_eq!(faults.signs_blocked(), 2);

        // Released, the stuck calls end and their sessions come back.
        faults.release_signs();
        emu.shutdown().await;
    });
    // Dropping the runtime waits for the released blocking tasks.
    drop(runtime);
    let sig = signer.sign(b"after the release").unwrap();
    assert!(!sig.is_empty());
    // The abandoned signatures gave their sessions back: the pool holds at most its two,
    // and none is left open without the signer.
    assert!(
        (1..=2).contains(&faults.open_sessions()),
        "{} sessions open for a pool of 2",
        faults.open_sessions()
    );
    assert_eq!(Arc::strong_count(&signer), 1);
    drop(signer);
    assert_eq!(faults.open_sessions(), 0, "sessions left open");
    eprintln!("a held C_Sign: the exchange and the OAuth call failed with SignTimeout in time");
}
