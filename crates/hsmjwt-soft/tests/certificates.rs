//! Certificates: `x5t#S256` and `x5c` against openssl's own values, key matching, and the
//! validity window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::Dir;
use hsmjwt_core::{Algorithm, Header, NumericDate};
use hsmjwt_soft::{
    Certificate, CertificateHeaders, Error, PrivateKey, Validity, certify_header,
    set_certificate_headers,
};

/// A CA, a leaf signed by it (chain file leaf + CA), and a self-signed certificate.
fn setup() -> Dir {
    let d = Dir::new();
    d.rsa_pkcs8("ca.key", 2048);
    d.ec_sec1("leaf.key", "prime256v1");
    d.rsa_pkcs8("self.key", 2048);
    d.self_signed("ca.key", "ca", 400, "ca.pem");
    d.issued("leaf.key", "leaf", 365, ("ca.pem", "ca.key"), "leaf.pem");
    d.self_signed("self.key", "short", 10, "short.pem");
    let mut chain = d.read("leaf.pem");
    chain.extend_from_slice(&d.read("ca.pem"));
    d.write("chain.pem", &chain);
    d
}

#[test]
fn x5t_s256_equals_openssl_fingerprint() {
    let d = setup();
    let chain = Certificate::load_chain(&d.path("chain.pem")).unwrap();
    assert_eq!(chain.len(), 2);
    // `openssl x509 -fingerprint -sha256` prints "sha256 Fingerprint=AB:CD:...".
    let fp = d.openssl(&[
        "x509",
        "-in",
        "leaf.pem",
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    let hex = fp.trim().rsplit('=').next().unwrap().replace(':', "");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 32);
    assert_eq!(chain[0].x5t_s256(), URL_SAFE_NO_PAD.encode(&bytes));

    // x5c: standard base64 of each DER certificate, leaf first.
    for (i, name) in ["leaf.pem", "ca.pem"].iter().enumerate() {
        d.openssl(&["x509", "-in", name, "-outform", "DER", "-out", "c.der"]);
        assert_eq!(chain[i].x5c_entry(), STANDARD.encode(d.read("c.der")));
    }
    let mut header = Header::new(Algorithm::ES256);
    set_certificate_headers(&mut header, &chain, true);
    assert_eq!(
        header.x5t_s256.as_deref(),
        Some(chain[0].x5t_s256().as_str())
    );
    assert_eq!(header.x5c.as_ref().map(Vec::len), Some(2));
    let mut header = Header::new(Algorithm::ES256);
    set_certificate_headers(&mut header, &chain, false);
    assert!(header.x5c.is_none() && header.x5t_s256.is_some());
}

/// The bytes of openssl's `-fingerprint -DIGEST` line ("sha1 Fingerprint=AB:CD:...").
fn fingerprint(d: &Dir, cert: &str, digest: &str) -> Vec<u8> {
    let fp = d.openssl(&["x509", "-in", cert, "-noout", "-fingerprint", digest]);
    let hex = fp.trim().rsplit('=').next().unwrap().replace(':', "");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_token_header_must_name_the_certificate_it_is_checked_with() {
    let d = setup();
    let leaf = &Certificate::load_chain(&d.path("leaf.pem")).unwrap()[0];
    let other = &Certificate::load_chain(&d.path("short.pem")).unwrap()[0];
    let sha1 = fingerprint(&d, "leaf.pem", "-sha1");
    assert_eq!(sha1.len(), 20);
    assert_eq!(leaf.x5t(), URL_SAFE_NO_PAD.encode(&sha1));

    let mut header = Header::new(Algorithm::ES256);
    leaf.check_thumbprints(&header).unwrap();
    set_certificate_headers(&mut header, std::slice::from_ref(leaf), false);
    header
        .set("x5t", serde_json::Value::String(leaf.x5t()))
        .unwrap();
    leaf.check_thumbprints(&header).unwrap();

    // Another certificate's thumbprints, each member on its own.
    let mut s256 = Header::new(Algorithm::ES256);
    s256.x5t_s256 = Some(other.x5t_s256());
    let mut sha1 = Header::new(Algorithm::ES256);
    sha1.set("x5t", serde_json::Value::String(other.x5t()))
        .unwrap();
    for (header, member, theirs, ours) in [
        (&s256, "x5t#S256", other.x5t_s256(), leaf.x5t_s256()),
        (&sha1, "x5t", other.x5t(), leaf.x5t()),
    ] {
        let err = leaf.check_thumbprints(header).unwrap_err();
        assert!(
            matches!(err, Error::CertificateThumbprintMismatch { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("`{member}`")) && text.contains(&theirs) && text.contains(&ours),
            "{text}"
        );
    }

    // A forged value is printed cleaned.
    let mut forged = Header::new(Algorithm::ES256);
    forged.x5t_s256 = Some("x\nerror: fake\u{1b}]0;t".to_owned());
    let text = leaf.check_thumbprints(&forged).unwrap_err().to_string();
    assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
}

#[test]
fn certificate_and_key_must_belong_together() {
    let d = setup();
    let chain = Certificate::load_chain(&d.path("chain.pem")).unwrap();
    let leaf_key = PrivateKey::load(&d.path("leaf.key")).unwrap();
    let other = PrivateKey::load(&d.path("self.key")).unwrap();
    assert!(chain[0].check_key(&leaf_key.public_jwk()).is_ok());
    let err = chain[0].check_key(&other.public_jwk()).unwrap_err();
    assert!(matches!(err, Error::CertificateKeyMismatch { .. }));
    assert!(err.to_string().contains("CN=leaf"), "{err}");
    assert!(chain[1].check_key(&leaf_key.public_jwk()).is_err());
}

#[test]
fn validity_window_warns_then_fails() {
    let d = setup();
    let leaf = &Certificate::load_chain(&d.path("leaf.pem")).unwrap()[0];
    let now = NumericDate::now();
    assert!(
        matches!(leaf.check(now), Ok(Validity::Valid { days_left }) if (363..=365).contains(&days_left))
    );
    let short = &Certificate::load_chain(&d.path("short.pem")).unwrap()[0];
    assert!(
        matches!(short.check(now), Ok(Validity::ExpiresSoon { days_left }) if (8..=10).contains(&days_left))
    );
    let later = NumericDate::from_unix(leaf.not_after().as_unix() + 86_400 * 3);
    assert_eq!(leaf.validity(later), Validity::Expired { days_ago: 3 });
    let err = leaf.check(later).unwrap_err();
    assert!(matches!(err, Error::CertificateExpired { .. }));
    assert!(err.to_string().contains("expired on"), "{err}");
    let before = NumericDate::from_unix(leaf.not_before().as_unix() - 10);
    assert!(matches!(
        leaf.check(before),
        Err(Error::CertificateNotYetValid { .. })
    ));
    // Thirty days before the end is still "valid"; 29 days is "expires soon".
    let edge = NumericDate::from_unix(leaf.not_after().as_unix() - 30 * 86_400);
    assert_eq!(leaf.validity(edge), Validity::Valid { days_left: 30 });
    let edge = NumericDate::from_unix(leaf.not_after().as_unix() - 29 * 86_400);
    assert_eq!(leaf.validity(edge), Validity::ExpiresSoon { days_left: 29 });
}

/// `certify_header`: the checks of `hsmjwt sign --cert` and the agent's profiles, then the
/// headers; nothing is set when a check fails.
#[test]
fn certify_header_checks_then_sets() {
    let d = setup();
    let chain = Certificate::load_chain(&d.path("chain.pem")).unwrap();
    let leaf_key = PrivateKey::load(&d.path("leaf.key")).unwrap();
    let other = PrivateKey::load(&d.path("self.key")).unwrap();
    let now = NumericDate::now();
    let mut header = Header::new(Algorithm::ES256);
    let validity = certify_header(
        &mut header,
        &chain,
        &leaf_key.public_jwk(),
        now,
        CertificateHeaders::new(true, true),
    )
    .unwrap();
    assert!(matches!(validity, Validity::Valid { .. }), "{validity:?}");
    assert_eq!(
        header.x5t_s256.as_deref(),
        Some(chain[0].x5t_s256().as_str())
    );
    assert_eq!(header.x5c.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        header.to_map().get("x5t").and_then(|v| v.as_str()),
        Some(chain[0].x5t().as_str())
    );
    let mut header = Header::new(Algorithm::ES256);
    certify_header(
        &mut header,
        &chain,
        &leaf_key.public_jwk(),
        now,
        CertificateHeaders::default(),
    )
    .unwrap();
    assert!(header.x5c.is_none() && header.x5t_s256.is_some());
    assert!(!header.to_map().contains_key("x5t"));

    let mut header = Header::new(Algorithm::ES256);
    let fails = |header: &mut Header, chain: &[Certificate], now| {
        certify_header(
            header,
            chain,
            &leaf_key.public_jwk(),
            now,
            CertificateHeaders::new(true, true),
        )
        .unwrap_err()
    };
    assert!(matches!(fails(&mut header, &[], now), Error::NoCertificate));
    let later = NumericDate::from_unix(chain[0].not_after().as_unix() + 86_400);
    assert!(matches!(
        fails(&mut header, &chain, later),
        Error::CertificateExpired { .. }
    ));
    let err = certify_header(
        &mut header,
        &chain,
        &other.public_jwk(),
        now,
        CertificateHeaders::new(true, true),
    )
    .unwrap_err();
    assert!(matches!(err, Error::CertificateKeyMismatch { .. }));
    assert!(header.x5t_s256.is_none() && header.x5c.is_none());
}
