//! Signing and verification with all ten algorithms, through the core traits and codec.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::keys::pem_for;

use hsmjwt_core::{
    Algorithm, Claims, Header, Jwk, Jwks, NumericDate, Signer, Validation, Verifier, decode,
    decode_with_keys, encode,
};
use hsmjwt_soft::{
    Error, KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier, verifiers_from_jwks,
};

fn key(alg: Algorithm) -> PrivateKey {
    let spec = KeySpec::for_algorithm(alg, None).unwrap();
    PrivateKey::from_pem(pem_for(spec)).unwrap()
}

fn claims() -> Claims {
    Claims::new()
        .with_issuer("https://issuer.example")
        .with_subject("client-1")
        .with_audience("https://api.example")
        .with_issued_at(NumericDate::from_unix(1_700_000_000))
        .with_expiry(NumericDate::from_unix(1_700_000_300))
}

fn validation() -> Validation {
    Validation::new()
        .with_audience("https://api.example")
        .with_issuer("https://issuer.example")
        .at(NumericDate::from_unix(1_700_000_100))
}

#[test]
fn all_algorithms_sign_and_verify() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let public = key.public_key().clone();
        let signer = SoftSigner::new(key, Some(alg)).unwrap().with_kid("k1");
        assert_eq!(signer.algorithm(), alg);
        assert_eq!(signer.key_id(), Some("k1"));
        assert_eq!(signer.public_key().alg.as_deref(), Some(alg.as_str()));
        assert_eq!(signer.public_key().kid.as_deref(), Some("k1"));
        let verifier = SoftVerifier::new(&public, alg).unwrap().with_kid("k1");

        let token = encode(&Header::jwt(alg), &claims(), &signer).unwrap();
        let decoded = decode(&token, &verifier, &validation()).unwrap();
        assert_eq!(decoded.header.alg, alg);
        assert_eq!(decoded.header.kid.as_deref(), Some("k1"));
        assert_eq!(decoded.claims.sub.as_deref(), Some("client-1"));

        // Signature sizes: modulus length for RSA, raw r || s for ECDSA, 64 for Ed25519.
        let sig = signer.sign(b"input").unwrap();
        let expected_len = match alg {
            Algorithm::ES256 | Algorithm::EdDSA => 64,
            Algorithm::ES384 => 96,
            Algorithm::ES512 => 132,
            _ => 256,
        };
        assert_eq!(sig.len(), expected_len, "{alg}");
        verifier.verify(b"input", &sig).unwrap();

        // Any change is an opaque InvalidSignature.
        assert!(matches!(
            verifier.verify(b"inpuT", &sig),
            Err(hsmjwt_core::Error::InvalidSignature)
        ));
        let mut bad = sig.clone();
        bad[sig.len() / 2] ^= 1;
        assert!(matches!(
            verifier.verify(b"input", &bad),
            Err(hsmjwt_core::Error::InvalidSignature)
        ));
        for wrong_len in [
            &sig[..sig.len() - 1],
            &[][..],
            &[sig.clone(), vec![0]].concat()[..],
        ] {
            assert!(
                matches!(
                    verifier.verify(b"input", wrong_len),
                    Err(hsmjwt_core::Error::InvalidSignature)
                ),
                "{alg}"
            );
        }
        // A tampered token.
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = encode(
            &Header::jwt(alg),
            &claims().with_subject("client-2"),
            &signer,
        )
        .unwrap();
        let other_payload = other.split('.').nth(1).unwrap().to_owned();
        parts[1] = &other_payload;
        let forged = parts.join(".");
        assert!(matches!(
            decode(&forged, &verifier, &validation()),
            Err(hsmjwt_core::Error::InvalidSignature)
        ));
    }
}

#[test]
fn pkcs1_and_pss_are_not_interchangeable() {
    let key = key(Algorithm::RS256);
    let public = key.public_key().clone();
    let rs = SoftSigner::new(key, Some(Algorithm::RS256)).unwrap();
    let sig = rs.sign(b"m").unwrap();
    let ps = SoftVerifier::new(&public, Algorithm::PS256).unwrap();
    assert!(matches!(
        ps.verify(b"m", &sig),
        Err(hsmjwt_core::Error::InvalidSignature)
    ));
    let rs384 = SoftVerifier::new(&public, Algorithm::RS384).unwrap();
    assert!(matches!(
        rs384.verify(b"m", &sig),
        Err(hsmjwt_core::Error::InvalidSignature)
    ));
}

#[test]
fn default_algorithms() {
    assert_eq!(
        SoftSigner::new(key(Algorithm::RS256), None)
            .unwrap()
            .algorithm(),
        Algorithm::RS256
    );
    assert_eq!(
        SoftSigner::new(key(Algorithm::ES256), None)
            .unwrap()
            .algorithm(),
        Algorithm::ES256
    );
    assert_eq!(
        SoftSigner::new(key(Algorithm::ES384), None)
            .unwrap()
            .algorithm(),
        Algorithm::ES384
    );
}

#[test]
fn algorithm_must_fit_the_key() {
    let cases = [
        (
            Algorithm::ES256,
            Algorithm::RS256,
            "algorithm RS256 does not fit a P-256 key",
        ),
        (
            Algorithm::ES256,
            Algorithm::ES384,
            "algorithm ES384 does not fit a P-256 key",
        ),
        (
            Algorithm::ES384,
            Algorithm::ES256,
            "algorithm ES256 does not fit a P-384 key",
        ),
        (
            Algorithm::RS256,
            Algorithm::ES256,
            "algorithm ES256 does not fit an RSA key of 2048 bits",
        ),
        (
            Algorithm::PS256,
            Algorithm::ES384,
            "algorithm ES384 does not fit an RSA key of 2048 bits",
        ),
    ];
    for (key_alg, alg, msg) in cases {
        let k = key(key_alg);
        let public = k.public_key().clone();
        let err = SoftSigner::new(k, Some(alg)).unwrap_err();
        assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err:?}");
        assert_eq!(err.to_string(), msg);
        let err = SoftVerifier::new(&public, alg).unwrap_err();
        assert_eq!(err.to_string(), msg);
    }
}

#[test]
fn a_token_of_another_algorithm_is_refused() {
    let signer = SoftSigner::new(key(Algorithm::RS256), Some(Algorithm::PS256)).unwrap();
    let token = encode(&Header::jwt(Algorithm::PS256), &claims(), &signer).unwrap();
    let verifier = SoftVerifier::new(signer.key().public_key(), Algorithm::RS256).unwrap();
    assert!(matches!(
        decode(&token, &verifier, &validation()),
        Err(hsmjwt_core::Error::AlgorithmMismatch { .. })
    ));
}

#[test]
fn thumbprint_kid() {
    let k = key(Algorithm::ES256);
    let thumb = k.public_jwk().thumbprint();
    let signer = SoftSigner::new(k, None).unwrap().with_thumbprint_kid();
    assert_eq!(signer.key_id(), Some(thumb.as_str()));
    let debug = format!("{signer:?}");
    assert!(debug.starts_with("SoftSigner { alg: ES256"), "{debug}");
    assert!(
        debug.contains("PrivateKey { kind: Ec(P-256), bits: 256, .. }"),
        "{debug}"
    );
}

#[test]
fn verifier_from_jwk_rules() {
    let k = key(Algorithm::RS256);
    let base = k.public_jwk().with_kid("rsa-1");

    // No alg anywhere: RS256 for RSA; kid kept.
    let v = SoftVerifier::from_jwk(&base, None).unwrap();
    assert_eq!(
        (v.algorithm(), v.key_id()),
        (Algorithm::RS256, Some("rsa-1"))
    );
    // jwk.alg used.
    let v = SoftVerifier::from_jwk(&base.clone().with_alg(Algorithm::PS384), None).unwrap();
    assert_eq!(v.algorithm(), Algorithm::PS384);
    // Explicit alg wins when jwk has none; agrees when equal.
    let v = SoftVerifier::from_jwk(&base, Some(Algorithm::RS512)).unwrap();
    assert_eq!(v.algorithm(), Algorithm::RS512);
    let v = SoftVerifier::from_jwk(
        &base.clone().with_alg(Algorithm::PS256),
        Some(Algorithm::PS256),
    )
    .unwrap();
    assert_eq!(v.algorithm(), Algorithm::PS256);
    // Contradiction.
    let err = SoftVerifier::from_jwk(
        &base.clone().with_alg(Algorithm::RS256),
        Some(Algorithm::PS256),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::JwkAlgorithmConflict {
            requested: Algorithm::PS256,
            jwk: Algorithm::RS256
        }
    ));
    // Encryption keys and key_ops without verify.
    let err = SoftVerifier::from_jwk(&base.clone().with_use("enc"), None).unwrap_err();
    assert!(matches!(err, Error::NotForVerification { .. }), "{err:?}");
    assert!(err.to_string().contains("`use` is `enc`"), "{err}");
    let mut ops = base.clone();
    ops.key_ops = Some(vec!["sign".into()]);
    assert!(matches!(
        SoftVerifier::from_jwk(&ops, None),
        Err(Error::NotForVerification { .. })
    ));
    ops.key_ops = Some(vec!["sign".into(), "verify".into()]);
    assert!(SoftVerifier::from_jwk(&ops, None).is_ok());
    // An alg that does not fit the key.
    let mut wrong = base.clone();
    wrong.alg = Some("ES256".into());
    assert!(SoftVerifier::from_jwk(&wrong, None).is_err());
    // An unsupported alg.
    wrong.alg = Some("HS256".into());
    assert!(SoftVerifier::from_jwk(&wrong, None).is_err());
    // EC: default by curve; RSA algorithms refused.
    let ec = key(Algorithm::ES384).public_jwk();
    assert_eq!(
        SoftVerifier::from_jwk(&ec, None).unwrap().algorithm(),
        Algorithm::ES384
    );
    assert!(matches!(
        SoftVerifier::from_jwk(&ec, Some(Algorithm::RS256)),
        Err(Error::AlgorithmMismatch { .. })
    ));
}

#[test]
fn ec_point_off_the_curve_is_refused() {
    let jwk = key(Algorithm::ES256).public_jwk();
    let mut map = jwk.to_map();
    let mut y = hsmjwt_core::b64::decode(map["y"].as_str().unwrap().as_bytes()).unwrap();
    y[31] ^= 1;
    map.insert("y".into(), hsmjwt_core::b64::encode(&y).into());
    let bad = Jwk::from_map(&map).unwrap();
    assert!(matches!(
        PublicKey::from_jwk(&bad),
        Err(Error::KeyRejected { .. })
    ));
    assert!(SoftVerifier::from_jwk(&bad, None).is_err());
}

#[test]
fn jwks_verifiers() {
    let rsa = key(Algorithm::RS256);
    let p256 = key(Algorithm::ES256);
    let p384 = key(Algorithm::ES384);
    let p521 = key(Algorithm::ES512);
    let json = serde_json::json!({"keys": [
        rsa.public_jwk().with_kid("rsa").to_map(),
        rsa.public_jwk().with_kid("rsa-enc").with_use("enc").to_map(),
        p256.public_jwk().with_kid("p256").with_alg(Algorithm::ES256).to_map(),
        p384.public_jwk().with_kid("p384").to_map(),
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"},
        {"kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP", "n": rsa.public_jwk().to_map()["n"], "e": "AQAB"},
        p521.public_jwk().with_kid("p521").to_map(),
    ]});
    let jwks = Jwks::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();

    let all = verifiers_from_jwks(&jwks, None).unwrap();
    let summary: Vec<(Option<&str>, Algorithm)> =
        all.iter().map(|v| (v.key_id(), v.algorithm())).collect();
    assert_eq!(
        summary,
        vec![
            (Some("rsa"), Algorithm::RS256),
            (Some("p256"), Algorithm::ES256),
            (Some("p384"), Algorithm::ES384),
            (None, Algorithm::EdDSA),
            (Some("p521"), Algorithm::ES512),
        ]
    );
    let ed = verifiers_from_jwks(&jwks, Some(Algorithm::EdDSA)).unwrap();
    assert_eq!(ed.len(), 1);
    assert_eq!(ed[0].algorithm(), Algorithm::EdDSA);

    let ps = verifiers_from_jwks(&jwks, Some(Algorithm::PS256)).unwrap();
    let summary: Vec<(Option<&str>, Algorithm)> =
        ps.iter().map(|v| (v.key_id(), v.algorithm())).collect();
    assert_eq!(summary, vec![(Some("rsa"), Algorithm::PS256)]);

    let err = verifiers_from_jwks(&Jwks::default(), None).unwrap_err();
    assert!(matches!(err, Error::NoUsableKey { alg: None }));

    // A token signed by the P-384 key picks its verifier by kid.
    let signer = SoftSigner::new(p384, None).unwrap().with_kid("p384");
    let token = encode(&Header::jwt(Algorithm::ES384), &claims(), &signer).unwrap();
    let keys: Vec<&dyn Verifier> = all.iter().map(|v| v as &dyn Verifier).collect();
    decode_with_keys(&token, keys, &validation()).unwrap();
}

#[test]
fn signer_and_verifier_are_send_sync_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SoftSigner>();
    assert_send_sync::<SoftVerifier>();
    assert_send_sync::<PrivateKey>();
    let signer = std::sync::Arc::new(SoftSigner::new(key(Algorithm::ES256), None).unwrap());
    let verifier = SoftVerifier::new(signer.key().public_key(), Algorithm::ES256).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = signer.clone();
            std::thread::spawn(move || s.sign(format!("m{i}").as_bytes()).unwrap())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        verifier
            .verify(format!("m{i}").as_bytes(), &h.join().unwrap())
            .unwrap();
    }
}

#[test]
fn unusable_rsa_exponents_are_refused() {
    let jwk = key(Algorithm::RS256).public_jwk();
    for e in ["Ag", "AQ", "AQAAAAAB"] {
        let mut map = jwk.to_map();
        map.insert("e".into(), e.into());
        // Core takes any exponent of 1 to 8 bytes; the software backend refuses these.
        let bad = Jwk::from_map(&map).unwrap();
        let err = PublicKey::from_jwk(&bad).unwrap_err();
        assert!(matches!(err, Error::UnsupportedKey(_)), "{e}: {err:?}");
    }
}
