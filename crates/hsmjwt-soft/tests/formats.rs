//! Loading keys in every supported format (made by the `openssl` command line), round trips,
//! and the refusals: small RSA keys, encrypted keys, public keys where a private one is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Dir;
use hsmjwt_core::{Curve, KeyKind, Signer as _, Verifier as _};
use hsmjwt_soft::{
    Error, KeySpec, PrivateKey, PublicKey, SoftSigner, SoftVerifier, load_certificate_chain,
};

/// Signs with `key` and checks the signature with `public`, to prove they are one pair.
fn assert_pair(key: PrivateKey, public: &PublicKey) {
    let signer = SoftSigner::new(key, None).unwrap();
    let verifier = SoftVerifier::new(public, signer.algorithm()).unwrap();
    let sig = signer.sign(b"message").unwrap();
    verifier.verify(b"message", &sig).unwrap();
}

#[test]
fn rsa_pkcs8_pkcs1_pem_and_der() {
    let d = Dir::new();
    d.rsa_pkcs8("k8.pem", 2048);
    d.openssl(&["rsa", "-in", "k8.pem", "-traditional", "-out", "k1.pem"]);
    d.openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "k8.pem", "-outform", "DER", "-out", "k8.der",
    ]);
    d.openssl(&[
        "rsa",
        "-in",
        "k8.pem",
        "-traditional",
        "-outform",
        "DER",
        "-out",
        "k1.der",
    ]);
    d.openssl(&["pkey", "-in", "k8.pem", "-pubout", "-out", "pub.pem"]);

    let pkcs8 = d.read_str("k8.pem");
    let pkcs1 = d.read_str("k1.pem");
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    let public = PublicKey::from_pem(&d.read_str("pub.pem")).unwrap();
    let keys = [
        PrivateKey::from_pem(&pkcs8).unwrap(),
        PrivateKey::from_pem(&pkcs1).unwrap(),
        PrivateKey::from_der(&d.read("k8.der")).unwrap(),
        PrivateKey::from_der(&d.read("k1.der")).unwrap(),
        PrivateKey::from_bytes(&d.read("k1.der")).unwrap(),
        PrivateKey::load(&d.path("k8.pem")).unwrap(),
        PrivateKey::load(&d.path("k1.der")).unwrap(),
    ];
    for key in keys {
        assert_eq!(key.kind(), KeyKind::Rsa);
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.public_key(), &public);
        assert_eq!(
            format!("{key:?}"),
            "PrivateKey { kind: Rsa, bits: 2048, .. }"
        );
        assert_pair(key, &public);
    }
}

#[test]
fn rsa_genrsa_traditional_3072() {
    let d = Dir::new();
    d.openssl(&["genrsa", "-traditional", "-out", "k.pem", "3072"]);
    let key = PrivateKey::load(&d.path("k.pem")).unwrap();
    assert_eq!(key.bits(), 3072);
}

#[test]
fn ec_sec1_pkcs8_pem_and_der() {
    for (curve, name, bits) in [
        (Curve::P256, "prime256v1", 256),
        (Curve::P384, "secp384r1", 384),
        (Curve::P521, "secp521r1", 521),
    ] {
        let d = Dir::new();
        d.ec_sec1("sec1.pem", name);
        // With the parameters block first, as `ecparam -genkey` writes without -noout.
        d.openssl(&["ecparam", "-genkey", "-name", name, "-out", "params.pem"]);
        d.openssl(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "k8.pem",
        ]);
        d.openssl(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-outform", "DER", "-out", "k8.der",
        ]);
        d.openssl(&[
            "ec", "-in", "sec1.pem", "-outform", "DER", "-out", "sec1.der",
        ]);
        d.openssl(&["pkey", "-in", "sec1.pem", "-pubout", "-out", "pub.pem"]);
        d.openssl(&[
            "pkey", "-in", "sec1.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
        ]);
        assert!(
            d.read_str("params.pem")
                .starts_with("-----BEGIN EC PARAMETERS-----")
        );

        let public = PublicKey::load(&d.path("pub.pem")).unwrap();
        assert_eq!(PublicKey::load(&d.path("pub.der")).unwrap(), public);
        assert_eq!(public.params().kind(), KeyKind::Ec(curve));
        let keys = [
            PrivateKey::load(&d.path("sec1.pem")).unwrap(),
            PrivateKey::load(&d.path("k8.pem")).unwrap(),
            PrivateKey::load(&d.path("k8.der")).unwrap(),
            PrivateKey::load(&d.path("sec1.der")).unwrap(),
        ];
        for key in keys {
            assert_eq!(key.kind(), KeyKind::Ec(curve));
            assert_eq!(key.bits(), bits);
            assert_eq!(key.public_key(), &public);
            assert_eq!(
                format!("{key:?}"),
                format!(
                    "PrivateKey {{ kind: Ec({}), bits: {bits}, .. }}",
                    curve.as_str()
                )
            );
            assert_pair(key, &public);
        }
        let with_params = PrivateKey::load(&d.path("params.pem")).unwrap();
        assert_eq!(with_params.kind(), KeyKind::Ec(curve));
        // A certificate for the key.
        d.self_signed("sec1.pem", name, 30, "cert.pem");
        let chain = hsmjwt_soft::Certificate::load_chain(&d.path("cert.pem")).unwrap();
        assert!(chain[0].certifies(&public.jwk()), "{name}");
    }
}

#[test]
fn public_key_formats_and_certificates() {
    let d = Dir::new();
    d.rsa_pkcs8("k.pem", 2048);
    d.openssl(&["pkey", "-in", "k.pem", "-pubout", "-out", "spki.pem"]);
    d.openssl(&[
        "pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "spki.der",
    ]);
    d.openssl(&[
        "rsa",
        "-in",
        "k.pem",
        "-RSAPublicKey_out",
        "-out",
        "pkcs1.pem",
    ]);
    d.openssl(&[
        "rsa",
        "-in",
        "k.pem",
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        "pkcs1.der",
    ]);
    d.self_signed("k.pem", "hsmjwt test", 2, "cert.pem");
    d.openssl(&[
        "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
    ]);
    assert!(
        d.read_str("pkcs1.pem")
            .starts_with("-----BEGIN RSA PUBLIC KEY-----")
    );

    let key = PrivateKey::load(&d.path("k.pem")).unwrap();
    let expected = key.public_key().clone();
    for name in [
        "spki.pem",
        "spki.der",
        "pkcs1.pem",
        "pkcs1.der",
        "cert.pem",
        "cert.der",
        "k.pem",
    ] {
        let loaded = PublicKey::load(&d.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded, expected, "{name}");
    }
    assert_eq!(
        PublicKey::from_certificate_der(&d.read("cert.der")).unwrap(),
        expected
    );

    // JWK, public and private-derived.
    let jwk_json = serde_json::to_vec(&expected.jwk()).unwrap();
    assert_eq!(PublicKey::from_bytes(&jwk_json).unwrap(), expected);
    assert_eq!(PublicKey::from_jwk(&key.public_jwk()).unwrap(), expected);
    assert!(key.public_jwk().kid.is_none());

    // A public key is not a private key.
    for name in [
        "spki.pem",
        "spki.der",
        "pkcs1.pem",
        "pkcs1.der",
        "cert.pem",
        "cert.der",
    ] {
        let err = PrivateKey::load(&d.path(name)).unwrap_err();
        let Error::Load { path, source } = &err else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(path, &d.path(name));
        assert!(
            matches!(**source, Error::NotPrivate(_)),
            "{name}: {source:?}"
        );
        assert!(source.to_string().contains("is a public key"), "{source}");
    }
}

#[test]
fn spki_pem_matches_openssl() {
    let d = Dir::new();
    d.rsa_pkcs8("rsa.pem", 2048);
    d.ec_sec1("p256.pem", "prime256v1");
    d.ec_sec1("p384.pem", "secp384r1");
    for name in ["rsa.pem", "p256.pem", "p384.pem"] {
        let out = format!("{name}.pub");
        let out_der = format!("{name}.pub.der");
        d.openssl(&["pkey", "-in", name, "-pubout", "-out", &out]);
        d.openssl(&[
            "pkey", "-in", name, "-pubout", "-outform", "DER", "-out", &out_der,
        ]);
        let key = PrivateKey::load(&d.path(name)).unwrap();
        let public = key.public_key();
        assert_eq!(public.to_spki_pem(), d.read_str(&out), "{name}");
        assert_eq!(public.to_spki_der(), d.read(&out_der), "{name}");
        // And back.
        assert_eq!(&PublicKey::from_der(&public.to_spki_der()).unwrap(), public);
        assert_eq!(&PublicKey::from_pem(&public.to_spki_pem()).unwrap(), public);

        // `openssl pkey -pubin` reads our output back to the same key.
        let ours = d.write(&format!("{name}.ours"), public.to_spki_pem().as_bytes());
        let again = format!("{name}.again");
        d.openssl(&[
            "pkey",
            "-pubin",
            "-in",
            ours.to_str().unwrap(),
            "-out",
            &again,
        ]);
        assert_eq!(d.read_str(&again), public.to_spki_pem());
    }
}

#[test]
fn pkcs8_export_round_trips_and_openssl_reads_it() {
    let d = Dir::new();
    for spec in [
        KeySpec::Rsa(2048),
        KeySpec::P256,
        KeySpec::P384,
        KeySpec::P521,
        KeySpec::Ed25519,
    ] {
        let key = PrivateKey::generate(spec).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());

        let path = d.write("exported.pem", pem.as_bytes());
        d.openssl(&[
            "pkey",
            "-in",
            path.to_str().unwrap(),
            "-pubout",
            "-out",
            "exported.pub",
        ]);
        assert_eq!(d.read_str("exported.pub"), key.public_key().to_spki_pem());
    }
}

#[test]
fn private_jwk_round_trip_with_openssl_key() {
    // Build a private JWK from an openssl key's components and load it.
    let d = Dir::new();
    d.ec_sec1("ec.pem", "prime256v1");
    let key = PrivateKey::load(&d.path("ec.pem")).unwrap();
    d.openssl(&["ec", "-in", "ec.pem", "-outform", "DER", "-out", "ec.der"]);
    let sec1 = d.read("ec.der");
    // ECPrivateKey: 30 77 02 01 01 04 20 <d: 32 bytes> ...
    assert_eq!(&sec1[..7], &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
    let dd = &sec1[7..39];
    let mut jwk = key.public_jwk().to_map();
    jwk.insert("d".into(), hsmjwt_core::b64::encode(dd).into());
    let json = serde_json::to_vec(&jwk).unwrap();
    let from_jwk = PrivateKey::from_jwk(&json).unwrap();
    assert_eq!(from_jwk.public_key(), key.public_key());
    assert_eq!(
        PrivateKey::from_bytes(&json).unwrap().public_key(),
        key.public_key()
    );
    // A private JWK gives its public half to PublicKey::from_bytes.
    assert_eq!(&PublicKey::from_bytes(&json).unwrap(), key.public_key());

    // A wrong `d` is refused (the public point does not match).
    jwk.insert("d".into(), hsmjwt_core::b64::encode(&[7u8; 32]).into());
    let err = PrivateKey::from_jwk(&serde_json::to_vec(&jwk).unwrap()).unwrap_err();
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");

    // A public JWK is not a private key.
    let public = serde_json::to_vec(&key.public_jwk()).unwrap();
    assert!(matches!(
        PrivateKey::from_jwk(&public),
        Err(Error::NotPrivate(_))
    ));
}

/// RFC 8037 appendix A.1: the Ed25519 private JWK; its `d` must give its `x`.
#[test]
fn okp_private_jwk() {
    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    let d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{d}","x":"{x}"}}"#);
    let key = PrivateKey::from_jwk(jwk.as_bytes()).unwrap();
    assert_eq!(key.kind(), KeyKind::Okp(hsmjwt_core::OkpCurve::Ed25519));
    assert_eq!(key.public_jwk().to_map()["x"], x);
    assert_eq!(
        PrivateKey::from_bytes(jwk.as_bytes()).unwrap().public_key(),
        key.public_key()
    );
    assert_eq!(
        &PublicKey::from_bytes(jwk.as_bytes()).unwrap(),
        key.public_key()
    );

    // Another `d`: refused, its public key is not `x`.
    let other = hsmjwt_core::b64::encode(&[7u8; 32]);
    let wrong = format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{other}","x":"{x}"}}"#);
    let err = PrivateKey::from_jwk(wrong.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");
    // A public OKP JWK is not a private key.
    let public = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#);
    assert!(matches!(
        PrivateKey::from_jwk(public.as_bytes()),
        Err(Error::NotPrivate(_))
    ));
    // Wrong lengths, other curves.
    let short = hsmjwt_core::b64::encode(&[7u8; 31]);
    for bad in [
        format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{short}","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{d}","x":"{short}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"X25519","d":"{d}","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed448","d":"{d}","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","d":"{d}","x":"{x}"}}"#),
    ] {
        assert!(PrivateKey::from_jwk(bad.as_bytes()).is_err(), "{bad}");
    }
}

/// A P-521 private JWK from an openssl key's components (66-byte `x`, `y`, `d`).
#[test]
fn p521_private_jwk_with_openssl_key() {
    use der::Decode as _;
    let d = Dir::new();
    d.ec_sec1("ec.pem", "secp521r1");
    d.openssl(&["ec", "-in", "ec.pem", "-outform", "DER", "-out", "ec.der"]);
    let key = PrivateKey::load(&d.path("ec.der")).unwrap();
    assert_eq!((key.kind(), key.bits()), (KeyKind::Ec(Curve::P521), 521));
    let der = d.read("ec.der");
    let sec1 = sec1::EcPrivateKey::from_der(&der).unwrap();
    assert_eq!(sec1.private_key.len(), 66);
    let mut jwk = key.public_jwk().to_map();
    for m in ["x", "y"] {
        let v = hsmjwt_core::b64::decode(jwk[m].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(v.len(), 66, "{m}");
    }
    jwk.insert(
        "d".into(),
        hsmjwt_core::b64::encode(sec1.private_key).into(),
    );
    let from_jwk = PrivateKey::from_jwk(&serde_json::to_vec(&jwk).unwrap()).unwrap();
    assert_eq!(from_jwk.public_key(), key.public_key());
    assert_pair(from_jwk, key.public_key());
    jwk.insert("d".into(), hsmjwt_core::b64::encode(&[7u8; 66]).into());
    let err = PrivateKey::from_jwk(&serde_json::to_vec(&jwk).unwrap()).unwrap_err();
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");
}

#[test]
fn rsa_private_jwk_with_inconsistent_crt_is_refused() {
    // RFC 7515 appendix A.2's key with `qi` replaced by `dq`.
    let json = br#"{"kty":"RSA",
     "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
     "e":"AQAB",
     "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
     "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
     "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
     "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
     "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
     "qi":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"
    }"#;
    let err = PrivateKey::from_jwk(json).unwrap_err();
    assert!(matches!(err, Error::KeyRejected { .. }), "{err:?}");
    // Without CRT parameters: a clear message.
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    let mut m = v.as_object().unwrap().clone();
    for k in ["p", "q", "dp", "dq", "qi"] {
        m.remove(k);
    }
    let err = PrivateKey::from_jwk(&serde_json::to_vec(&m).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("`p`, `q`, `dp`, `dq` and `qi`"),
        "{err}"
    );
}

#[test]
fn small_rsa_keys_are_refused_with_their_size() {
    let d = Dir::new();
    d.rsa_pkcs8("small.pem", 1024);
    d.openssl(&[
        "rsa",
        "-in",
        "small.pem",
        "-traditional",
        "-out",
        "small1.pem",
    ]);
    d.openssl(&["pkey", "-in", "small.pem", "-pubout", "-out", "small.pub"]);
    d.openssl(&[
        "rsa",
        "-in",
        "small.pem",
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        "small1.pub.der",
    ]);
    d.self_signed("small.pem", "small", 1, "small.crt");
    for name in ["small.pem", "small1.pem"] {
        let err = PrivateKey::from_pem(&d.read_str(name)).unwrap_err();
        assert!(
            matches!(err, Error::RsaKeyTooSmall { bits: 1024 }),
            "{name}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "RSA key of 1024 bits is too small (at least 2048)"
        );
    }
    for name in ["small.pub", "small1.pub.der", "small.crt", "small.pem"] {
        let err = PublicKey::load(&d.path(name)).unwrap_err();
        let Error::Load { source, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(**source, Error::RsaKeyTooSmall { bits: 1024 }),
            "{name}: {source:?}"
        );
    }
    let mut jwk = serde_json::Map::new();
    jwk.insert("kty".into(), "RSA".into());
    jwk.insert("n".into(), hsmjwt_core::b64::encode(&[0xc5; 128]).into());
    jwk.insert("e".into(), "AQAB".into());
    let json = serde_json::to_vec(&jwk).unwrap();
    assert!(
        PublicKey::from_bytes(&json)
            .unwrap_err()
            .to_string()
            .contains("1024 bits")
    );
}

#[test]
fn encrypted_keys_are_refused_with_a_hint() {
    let d = Dir::new();
    d.rsa_pkcs8("k.pem", 2048);
    d.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "k.pem",
        "-passout",
        "pass:secret",
        "-out",
        "enc.pem",
    ]);
    d.openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "k.pem",
        "-passout",
        "pass:secret",
        "-outform",
        "DER",
        "-out",
        "enc.der",
    ]);
    d.openssl(&[
        "rsa",
        "-in",
        "k.pem",
        "-traditional",
        "-aes256",
        "-passout",
        "pass:secret",
        "-out",
        "trad.pem",
    ]);
    assert!(
        d.read_str("enc.pem")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    assert!(d.read_str("trad.pem").contains("Proc-Type: 4,ENCRYPTED"));
    for name in ["enc.pem", "enc.der", "trad.pem"] {
        let err = PrivateKey::from_bytes(&d.read(name)).unwrap_err();
        assert!(matches!(err, Error::EncryptedKey), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("encrypted") && msg.contains("openssl pkcs8"),
            "{msg}"
        );
        assert!(
            matches!(
                PublicKey::from_bytes(&d.read(name)),
                Err(Error::EncryptedKey)
            ),
            "{name}"
        );
    }
}

#[test]
fn unsupported_keys_are_named() {
    let d = Dir::new();
    d.openssl(&["genpkey", "-algorithm", "ed448", "-out", "ed448.pem"]);
    d.openssl(&["genpkey", "-algorithm", "x25519", "-out", "x25519.pem"]);
    d.openssl(&[
        "ecparam",
        "-genkey",
        "-name",
        "secp256k1",
        "-noout",
        "-out",
        "k1.pem",
    ]);
    d.openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "k1.pem", "-out", "k1_8.pem",
    ]);
    d.openssl(&["pkey", "-in", "k1.pem", "-pubout", "-out", "k1.pub"]);
    d.openssl(&["pkey", "-in", "ed448.pem", "-pubout", "-out", "ed448.pub"]);
    for (name, named) in [
        ("ed448.pem", "Ed448"),
        ("x25519.pem", "X25519"),
        ("k1.pem", "secp256k1"),
        ("k1_8.pem", "secp256k1"),
    ] {
        let err = PrivateKey::load(&d.path(name)).unwrap_err();
        assert!(anyhow_like(&err).contains(named), "{name}: {err:?}");
    }
    for (name, named) in [("k1.pub", "secp256k1"), ("ed448.pub", "Ed448")] {
        let err = PublicKey::load(&d.path(name)).unwrap_err();
        assert!(anyhow_like(&err).contains(named), "{name}: {err:?}");
    }
}

/// Ed25519 keys as openssl writes them: PKCS#8 v1 in PEM and DER, SPKI in PEM and DER, a
/// self-signed certificate; and our own PKCS#8 export read back by openssl.
#[test]
fn ed25519_pkcs8_spki_and_certificate() {
    let d = Dir::new();
    d.openssl(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    d.openssl(&["pkey", "-in", "ed.pem", "-outform", "DER", "-out", "ed.der"]);
    d.openssl(&["pkey", "-in", "ed.pem", "-pubout", "-out", "pub.pem"]);
    d.openssl(&[
        "pkey", "-in", "ed.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
    ]);
    d.self_signed("ed.pem", "ed25519", 30, "cert.pem");

    let public = PublicKey::load(&d.path("pub.pem")).unwrap();
    assert_eq!(PublicKey::load(&d.path("pub.der")).unwrap(), public);
    assert_eq!(PublicKey::load(&d.path("cert.pem")).unwrap(), public);
    assert_eq!(PublicKey::load(&d.path("ed.pem")).unwrap(), public);
    let chain = hsmjwt_soft::Certificate::load_chain(&d.path("cert.pem")).unwrap();
    assert!(chain[0].certifies(&public.jwk()));
    assert_eq!(chain[0].subject(), "CN=ed25519");
    assert_eq!(
        public.params().kind(),
        KeyKind::Okp(hsmjwt_core::OkpCurve::Ed25519)
    );
    // Our SPKI export is byte for byte openssl's.
    assert_eq!(public.to_spki_der(), d.read("pub.der"));
    assert_eq!(public.to_spki_pem(), d.read_str("pub.pem"));
    for key in [
        PrivateKey::load(&d.path("ed.pem")).unwrap(),
        PrivateKey::load(&d.path("ed.der")).unwrap(),
        PrivateKey::from_der(&d.read("ed.der")).unwrap(),
    ] {
        assert_eq!(key.bits(), 256);
        assert_eq!(key.public_key(), &public);
        assert_eq!(
            format!("{key:?}"),
            "PrivateKey { kind: Okp(Ed25519), bits: 256, .. }"
        );
        assert_pair(key, &public);
    }
    // Our PKCS#8 export: openssl reads it, and finds the same public key.
    let key = PrivateKey::load(&d.path("ed.pem")).unwrap();
    key.write_pkcs8_pem(&d.path("ours.pem"), false).unwrap();
    d.openssl(&["pkey", "-in", "ours.pem", "-pubout", "-out", "ours.pub"]);
    assert_eq!(d.read_str("ours.pub"), d.read_str("pub.pem"));
    // A PKCS#8 v2 key (with the public key inside) loads too.
    let v2 = pkcs8_v2(&key);
    assert_eq!(PrivateKey::from_der(&v2).unwrap().public_key(), &public);
}

/// The key as PKCS#8 v2 (`OneAsymmetricKey` with the public key), made by aws-lc-rs.
fn pkcs8_v2(key: &PrivateKey) -> Vec<u8> {
    let pem = key.to_pkcs8_pem().unwrap();
    let v1 = pem::parse(pem.as_bytes()).unwrap().into_contents();
    aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&v1)
        .unwrap()
        .to_pkcs8()
        .unwrap()
        .as_ref()
        .to_vec()
}

/// The error and its sources, joined as `{:#}` would print them.
fn anyhow_like(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Causes from other crates (pem, der, x509-parser, aws-lc-rs) stay behind our message as
/// the `source`.
#[test]
fn foreign_causes_are_sources() {
    use std::error::Error as _;
    let bad_base64 = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
    let err = PrivateKey::from_pem(bad_base64).unwrap_err();
    assert!(matches!(err, Error::Pem(_)), "{err:?}");
    assert_eq!(err.to_string(), "malformed PEM");
    assert!(!err.source().unwrap().to_string().is_empty());

    // The DER SEQUENCE { INTEGER 1 }, labelled as a PKCS#1 key.
    let bad_der = "-----BEGIN RSA PRIVATE KEY-----\nMAMCAQE=\n-----END RSA PRIVATE KEY-----\n";
    let err = PrivateKey::from_pem(bad_der).unwrap_err();
    assert!(matches!(err, Error::Der { .. }), "{err:?}");
    assert!(err.to_string().starts_with("malformed "), "{err}");
    assert!(!err.source().unwrap().to_string().is_empty());

    let err = load_certificate_chain(b"\x30\x03\x02\x01\x01").unwrap_err();
    assert!(matches!(err, Error::Certificate(_)), "{err:?}");
    assert_eq!(err.to_string(), "malformed X.509 certificate");
    assert!(!err.source().unwrap().to_string().is_empty());
}

#[test]
fn load_names_the_path() {
    let d = Dir::new();
    let missing = d.path("missing.pem");
    let err = PrivateKey::load(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let garbage = d.write("garbage.bin", b"\x00\x01not a key");
    let err = PublicKey::load(&garbage).unwrap_err();
    assert!(err.to_string().contains("garbage.bin"), "{err}");
    assert!(matches!(err, Error::Load { .. }));
}

#[test]
fn pem_without_keys_and_empty_input() {
    assert!(matches!(PrivateKey::from_bytes(b""), Err(Error::Empty)));
    assert!(matches!(PublicKey::from_bytes(b""), Err(Error::Empty)));
    let pem = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";
    let err = PrivateKey::from_pem(pem).unwrap_err();
    assert!(matches!(err, Error::NoPemBlock { .. }), "{err:?}");
    assert!(err.to_string().contains("`FOO`"), "{err}");
    assert!(matches!(
        PublicKey::from_pem(pem),
        Err(Error::NoPemBlock { .. })
    ));
}

#[test]
fn generated_keys_are_written_0600_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let d = Dir::new();
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let path = d.path("new.pem");
    key.write_pkcs8_pem(&path, false).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        PrivateKey::load(&path).unwrap().public_key(),
        key.public_key()
    );

    let other = PrivateKey::generate(KeySpec::P256).unwrap();
    let err = other.write_pkcs8_pem(&path, false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    assert_eq!(
        PrivateKey::load(&path).unwrap().public_key(),
        key.public_key()
    );

    // Overwriting a world-readable file leaves it 0600.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    other.write_pkcs8_pem(&path, true).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        PrivateKey::load(&path).unwrap().public_key(),
        other.public_key()
    );

    // And openssl reads it.
    d.openssl(&["pkey", "-in", "new.pem", "-noout"]);
}

#[test]
fn overwriting_follows_a_link_to_a_regular_file_and_refuses_anything_else() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let d = Dir::new();
    let first = PrivateKey::generate(KeySpec::P256).unwrap();
    let second = PrivateKey::generate(KeySpec::P256).unwrap();
    let target = d.path("target.pem");
    let link = d.path("link.pem");
    first.write_pkcs8_pem(&target, false).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    symlink("target.pem", &link).unwrap();

    // Without overwrite, the link is an existing file like any other.
    let err = second.write_pkcs8_pem(&link, false).unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");

    // With it, the target is written (and made 0600); the link stays a link.
    second.write_pkcs8_pem(&link, true).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(
        PrivateKey::load(&target).unwrap().public_key(),
        second.public_key()
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A dangling link: nothing is created where it points.
    let dangling = d.path("dangling.pem");
    symlink("nowhere.pem", &dangling).unwrap();
    for overwrite in [false, true] {
        let err = first.write_pkcs8_pem(&dangling, overwrite).unwrap_err();
        if overwrite {
            assert!(matches!(err, Error::NotRegularFile { .. }), "{err:?}");
            assert!(
                err.to_string().contains("symbolic link to nothing"),
                "{err}"
            );
        } else {
            assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
        }
    }
    assert!(!d.path("nowhere.pem").exists());

    // A directory, and a link to one, are refused, and their mode is left alone.
    let dir = d.path("sub");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let to_dir = d.path("to-dir.pem");
    symlink("sub", &to_dir).unwrap();
    for (path, found) in [
        (&dir, "is a directory"),
        (&to_dir, "is a symbolic link to a directory"),
    ] {
        let err = first.write_pkcs8_pem(path, true).unwrap_err();
        assert!(matches!(err, Error::NotRegularFile { .. }), "{err:?}");
        assert!(err.to_string().contains(found), "{err}");
    }
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
}

#[test]
fn key_specs() {
    use hsmjwt_core::Algorithm::*;
    assert_eq!(
        KeySpec::for_algorithm(RS256, None).unwrap(),
        KeySpec::Rsa(2048)
    );
    assert_eq!(
        KeySpec::for_algorithm(PS512, Some(4096)).unwrap(),
        KeySpec::Rsa(4096)
    );
    assert_eq!(KeySpec::for_algorithm(ES256, None).unwrap(), KeySpec::P256);
    assert_eq!(KeySpec::for_algorithm(ES384, None).unwrap(), KeySpec::P384);
    assert_eq!(KeySpec::for_algorithm(ES512, None).unwrap(), KeySpec::P521);
    assert_eq!(
        KeySpec::for_algorithm(EdDSA, None).unwrap(),
        KeySpec::Ed25519
    );
    assert!(matches!(
        KeySpec::for_algorithm(ES256, Some(2048)),
        Err(Error::RsaSizeForEc(ES256))
    ));
    let err = KeySpec::for_algorithm(EdDSA, Some(2048)).unwrap_err();
    assert!(matches!(err, Error::RsaSizeForEc(EdDSA)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "an RSA key size was given, but EdDSA does not use an RSA key"
    );
    assert!(matches!(
        KeySpec::for_algorithm(RS256, Some(1024)),
        Err(Error::UnsupportedRsaSize(1024))
    ));
    assert!(matches!(
        KeySpec::for_algorithm(RS256, Some(2049)),
        Err(Error::UnsupportedRsaSize(2049))
    ));
    assert!(matches!(
        PrivateKey::generate(KeySpec::Rsa(1024)),
        Err(Error::UnsupportedRsaSize(1024))
    ));
    let key = PrivateKey::generate(KeySpec::Rsa(3072)).unwrap();
    assert_eq!((key.kind(), key.bits()), (KeyKind::Rsa, 3072));
    let key = PrivateKey::generate(KeySpec::P384).unwrap();
    assert_eq!((key.kind(), key.bits()), (KeyKind::Ec(Curve::P384), 384));
    let key = PrivateKey::generate(KeySpec::P521).unwrap();
    assert_eq!((key.kind(), key.bits()), (KeyKind::Ec(Curve::P521), 521));
    let key = PrivateKey::generate(KeySpec::Ed25519).unwrap();
    assert_eq!(
        (key.kind(), key.bits()),
        (KeyKind::Okp(hsmjwt_core::OkpCurve::Ed25519), 256)
    );
}

#[test]
fn certificate_chains() {
    let d = Dir::new();
    d.ec_sec1("ca.key", "prime256v1");
    d.ec_sec1("leaf.key", "prime256v1");
    d.self_signed("ca.key", "ca", 2, "ca.pem");
    d.issued("leaf.key", "leaf", 1, ("ca.pem", "ca.key"), "leaf.pem");
    d.openssl(&[
        "x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der",
    ]);
    let mut chain_pem = d.read("leaf.pem");
    chain_pem.extend_from_slice(&d.read("leaf.key"));
    chain_pem.extend_from_slice(&d.read("ca.pem"));

    let chain = load_certificate_chain(&chain_pem).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0], d.read("leaf.der"));
    assert_eq!(
        load_certificate_chain(&d.read("leaf.der")).unwrap(),
        vec![d.read("leaf.der")]
    );
    // The leaf's key is the first certificate's.
    let leaf = PrivateKey::load(&d.path("leaf.key")).unwrap();
    assert_eq!(
        &PublicKey::from_pem(std::str::from_utf8(&chain_pem).unwrap()).unwrap(),
        leaf.public_key()
    );

    assert!(matches!(
        load_certificate_chain(&d.read("leaf.key")),
        Err(Error::NoCertificate)
    ));
    assert!(matches!(
        load_certificate_chain(b""),
        Err(Error::NoCertificate)
    ));
    assert!(matches!(
        load_certificate_chain(b"\x30\x03\x02\x01\x01"),
        Err(Error::Certificate(_))
    ));
    let mut truncated = d.read("leaf.der");
    truncated.truncate(truncated.len() - 5);
    assert!(load_certificate_chain(&truncated).is_err());
    let mut trailing = d.read("leaf.der");
    trailing.push(0);
    assert!(load_certificate_chain(&trailing).is_err());
}

#[test]
fn signatures_interoperate_with_openssl() {
    let d = Dir::new();
    d.rsa_pkcs8("k.pem", 2048);
    d.openssl(&["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
    d.write("msg", b"eyJhbGciOiJSUzI1NiJ9.e30");
    let key = || PrivateKey::load(&d.path("k.pem")).unwrap();
    let public = PublicKey::load(&d.path("pub.pem")).unwrap();

    // Ours, checked by openssl.
    for (alg, extra) in [
        (hsmjwt_core::Algorithm::RS256, vec![]),
        (
            hsmjwt_core::Algorithm::PS256,
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
        ),
        (
            hsmjwt_core::Algorithm::PS512,
            vec![
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:64",
            ],
        ),
    ] {
        let signer = SoftSigner::new(key(), Some(alg)).unwrap();
        let sig = signer.sign(b"eyJhbGciOiJSUzI1NiJ9.e30").unwrap();
        d.write("sig", &sig);
        let digest = if alg == hsmjwt_core::Algorithm::PS512 {
            "-sha512"
        } else {
            "-sha256"
        };
        let mut args = vec!["dgst", digest, "-verify", "pub.pem", "-signature", "sig"];
        args.extend(extra.iter().copied());
        args.push("msg");
        d.openssl(&args);
    }

    // openssl's, checked by us.
    d.openssl(&["dgst", "-sha256", "-sign", "k.pem", "-out", "osig", "msg"]);
    let v = SoftVerifier::new(&public, hsmjwt_core::Algorithm::RS256).unwrap();
    v.verify(b"eyJhbGciOiJSUzI1NiJ9.e30", &d.read("osig"))
        .unwrap();
    d.openssl(&[
        "dgst",
        "-sha384",
        "-sign",
        "k.pem",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:48",
        "-out",
        "psig",
        "msg",
    ]);
    let v = SoftVerifier::new(&public, hsmjwt_core::Algorithm::PS384).unwrap();
    v.verify(b"eyJhbGciOiJSUzI1NiJ9.e30", &d.read("psig"))
        .unwrap();
}

/// Ed25519 both ways with `openssl pkeyutl -rawin` (pure Ed25519 over the message).
#[test]
fn ed25519_signatures_interoperate_with_openssl() {
    let d = Dir::new();
    d.openssl(&["genpkey", "-algorithm", "ed25519", "-out", "k.pem"]);
    d.openssl(&["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
    let message = b"eyJhbGciOiJFZERTQSJ9.e30";
    d.write("msg", message);
    let signer = SoftSigner::new(PrivateKey::load(&d.path("k.pem")).unwrap(), None).unwrap();
    assert_eq!(signer.algorithm(), hsmjwt_core::Algorithm::EdDSA);
    d.write("sig", &signer.sign(message).unwrap());
    let out = d.openssl(&[
        "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile",
        "sig",
    ]);
    assert!(out.contains("Signature Verified Successfully"), "{out}");

    d.openssl(&[
        "pkeyutl", "-sign", "-inkey", "k.pem", "-rawin", "-in", "msg", "-out", "osig",
    ]);
    let public = PublicKey::load(&d.path("pub.pem")).unwrap();
    let v = SoftVerifier::new(&public, hsmjwt_core::Algorithm::EdDSA).unwrap();
    let theirs = d.read("osig");
    v.verify(message, &theirs).unwrap();
    // Ed25519 is deterministic: the same signature both ways.
    assert_eq!(theirs, signer.sign(message).unwrap());
}

/// The neutral form that imports into a token use holds the very parts of the key file:
/// the CRT parts of an `openssl` RSA key, the scalar of a P-521 key (66 bytes, leading zeros
/// kept), and the RFC 8037 Ed25519 seed.
#[test]
fn private_key_material_holds_the_files_parts() {
    use der::Decode as _;
    use hsmjwt_core::SecretParts;

    let d = Dir::new();
    d.rsa_pkcs8("k8.pem", 2048);
    d.openssl(&[
        "rsa",
        "-in",
        "k8.pem",
        "-traditional",
        "-outform",
        "DER",
        "-out",
        "k1.der",
    ]);
    let der = d.read("k1.der");
    let want = pkcs1::RsaPrivateKey::from_der(&der).unwrap();
    let key = PrivateKey::load(&d.path("k8.pem")).unwrap();
    let material = key.material().unwrap();
    assert_eq!(material.public(), key.public_key().params());
    assert_eq!(format!("{material:?}").matches("<redacted>").count(), 1);
    let SecretParts::Rsa {
        d: pd,
        p,
        q,
        dp,
        dq,
        qi,
    } = material.secret()
    else {
        panic!("not RSA parts");
    };
    assert_eq!(pd.as_slice(), want.private_exponent.as_bytes());
    assert_eq!(p.as_slice(), want.prime1.as_bytes());
    assert_eq!(q.as_slice(), want.prime2.as_bytes());
    assert_eq!(dp.as_slice(), want.exponent1.as_bytes());
    assert_eq!(dq.as_slice(), want.exponent2.as_bytes());
    assert_eq!(qi.as_slice(), want.coefficient.as_bytes());

    d.ec_sec1("p521.pem", "secp521r1");
    d.openssl(&[
        "ec", "-in", "p521.pem", "-outform", "DER", "-out", "p521.der",
    ]);
    let der = d.read("p521.der");
    let want = sec1::EcPrivateKey::from_der(&der).unwrap();
    let key = PrivateKey::load(&d.path("p521.pem")).unwrap();
    let material = key.material().unwrap();
    let SecretParts::Ec { d: scalar } = material.secret() else {
        panic!("not EC parts");
    };
    assert_eq!(scalar.len(), 66);
    assert_eq!(scalar.as_slice(), want.private_key);

    let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    let seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{seed}","x":"{x}"}}"#);
    let material = PrivateKey::from_jwk(jwk.as_bytes())
        .unwrap()
        .material()
        .unwrap();
    let SecretParts::Okp { d: got } = material.secret() else {
        panic!("not OKP parts");
    };
    assert_eq!(
        got.as_slice(),
        hsmjwt_core::b64::decode(seed.as_bytes()).unwrap()
    );
}
