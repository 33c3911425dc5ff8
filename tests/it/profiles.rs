//! Every token profile: a minted token validates with its own validator and with
//! `jsonwebtoken`.

use hsmjwt::core::profile::{adobe, client_assertion, jar, service_token};
use hsmjwt::soft::PublicKey;
use hsmjwt::{Algorithm, NumericDate, Signer, decode};
use serde_json::Value;

use crate::common::{Pair, es256, rs256};

/// Verifies with jsonwebtoken (aws-lc-rs backend) from the signer's public JWK.
fn jsonwebtoken_accepts(
    token: &str,
    pair: &Pair,
    alg: jsonwebtoken::Algorithm,
    aud: &str,
) -> Value {
    let public = PublicKey::from_jwk(pair.signer.public_key()).unwrap();
    let jwk = public.jwk().to_map();
    let s = |k: &str| jwk[k].as_str().unwrap().to_owned();
    let key = match alg {
        jsonwebtoken::Algorithm::ES256 => {
            jsonwebtoken::DecodingKey::from_ec_components(&s("x"), &s("y")).unwrap()
        }
        _ => jsonwebtoken::DecodingKey::from_rsa_components(&s("n"), &s("e")).unwrap(),
    };
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_audience(&[aud]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap_or_else(|e| panic!("jsonwebtoken refused: {e}"))
        .claims
}

#[test]
fn adobe_service_account_jwt() {
    let p = adobe::ServiceAccountJwt::new(
        "0123456789ABCDEF@AdobeOrg",
        "ABCDEF0123456789@techacct.adobe.com",
        "cm-p123-e456-integration",
        adobe::DEFAULT_IMS_HOST,
    )
    .with_metascopes(adobe::split_metascopes("ent_aem_cloud_api"));
    let token = p.sign(&rs256().signer, NumericDate::now()).unwrap();
    let t = decode(&token, &rs256().verifier, &p.validation()).unwrap();
    p.check_metascopes(&t.claims).unwrap();
    let aud = adobe::audience(adobe::DEFAULT_IMS_HOST, "cm-p123-e456-integration");
    let claims = jsonwebtoken_accepts(&token, rs256(), jsonwebtoken::Algorithm::RS256, &aud);
    assert_eq!(
        claims["https://ims-na1.adobelogin.com/s/ent_aem_cloud_api"],
        true
    );
    // Not RS256: refused before signing.
    let err = p.sign(&es256().signer, NumericDate::now()).unwrap_err();
    assert!(err.to_string().contains("RS256"), "{err}");
    // Another integration's metascope is refused on receipt.
    let other = p.clone().with_metascope("ent_other");
    let t = decode(
        &other.sign(&rs256().signer, NumericDate::now()).unwrap(),
        &rs256().verifier,
        &p.validation(),
    )
    .unwrap();
    assert!(p.check_metascopes(&t.claims).is_err());
}

#[test]
fn client_assertion_each_with_a_fresh_jti() {
    let aud = "https://as.example/oauth/token";
    let p = client_assertion::ClientAssertion::new("client-9", aud);
    let now = NumericDate::now();
    let a = p.sign(&es256().signer, now).unwrap();
    let b = p.sign(&es256().signer, now).unwrap();
    let v = client_assertion::validation("client-9", aud);
    let ta = decode(&a, &es256().verifier, &v).unwrap();
    let tb = decode(&b, &es256().verifier, &v).unwrap();
    assert_ne!(ta.claims.jti, tb.claims.jti);
    let c = jsonwebtoken_accepts(&a, es256(), jsonwebtoken::Algorithm::ES256, aud);
    assert_eq!(c["iss"], c["sub"]);
    // The server's rules refuse another client's assertion.
    assert!(
        decode(
            &a,
            &es256().verifier,
            &client_assertion::validation("client-8", aud)
        )
        .is_err()
    );
}

#[test]
fn ad_service_token() {
    let p = service_token::ServiceToken::new("https://idp.example", "user-42")
        .with_kid("idp-key-1")
        .with_claim("name", "Jane Smith")
        .unwrap();
    let now = NumericDate::now();
    let line = p.header_line(&rs256().signer, now).unwrap();
    assert!(line.starts_with("AD-Service-Token: eyJ"), "{line}");
    let v = service_token::validation(service_token::DEFAULT_AUDIENCE)
        .with_issuer("https://idp.example");
    let t = service_token::verify(&line, &rs256().verifier, &v).unwrap();
    assert_eq!(t.header.kid.as_deref(), Some("idp-key-1"));
    assert_eq!(t.claims.extra["name"], "Jane Smith");
    assert_eq!(t.claims.jti.as_ref().map(String::len), Some(36));
    let bare = service_token::strip_header_name(&line);
    let c = jsonwebtoken_accepts(bare, rs256(), jsonwebtoken::Algorithm::RS256, "adobe");
    assert_eq!(c["sub"], "user-42");
    // The receiving side refuses a token without kid, a non-RS256 key, and a future iat.
    let no_kid = hsmjwt::encode(
        &hsmjwt::Header::new(Algorithm::RS256),
        &p.claims(now).unwrap(),
        &rs256().signer,
    )
    .unwrap();
    assert!(service_token::verify(&no_kid, &rs256().verifier, &v).is_err());
    assert!(service_token::verify(&line, &es256().verifier, &v).is_err());
    let future = p
        .sign(
            &rs256().signer,
            NumericDate::from_unix(now.as_unix() + 3600),
        )
        .unwrap();
    assert!(matches!(
        service_token::verify(&future, &rs256().verifier, &v),
        Err(hsmjwt::Error::IssuedInFuture { .. } | hsmjwt::Error::NotYetValid { .. })
    ));
    // Only RS256 signers.
    assert!(p.sign(&es256().signer, now).is_err());
}

#[test]
fn jar_request_object() {
    let pkce = jar::Pkce::generate().unwrap();
    let p = jar::RequestObject::new("app-1", "https://as.example/", "https://app.example/cb")
        .with_scope("openid profile")
        .with_state("st")
        .with_nonce("no")
        .with_pkce(&pkce);
    let token = p.sign(&rs256().signer, NumericDate::now()).unwrap();
    let t = decode(
        &token,
        &rs256().verifier,
        &jar::validation("app-1", "https://as.example/"),
    )
    .unwrap();
    assert_eq!(t.header.typ.as_deref(), Some(jar::TYP));
    jar::check_client_id(&t.claims, "app-1").unwrap();
    for (name, value) in [
        ("client_id", "app-1"),
        ("response_type", "code"),
        ("redirect_uri", "https://app.example/cb"),
        ("scope", "openid profile"),
        ("state", "st"),
        ("nonce", "no"),
        ("code_challenge", pkce.challenge()),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(t.claims.extra[name], value, "{name}");
    }
    assert!(t.claims.nbf.is_some() && t.claims.iat.is_some() && t.claims.jti.is_some());
    jsonwebtoken_accepts(
        &token,
        rs256(),
        jsonwebtoken::Algorithm::RS256,
        "https://as.example/",
    );
    // A token without the JAR typ is refused by the JAR rules.
    let plain = hsmjwt::encode(
        &hsmjwt::Header::jwt(Algorithm::RS256),
        &p.claims(NumericDate::now()).unwrap(),
        &rs256().signer,
    )
    .unwrap();
    assert!(
        decode(
            &plain,
            &rs256().verifier,
            &jar::validation("app-1", "https://as.example/")
        )
        .is_err()
    );
}
