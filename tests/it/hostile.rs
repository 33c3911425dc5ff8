//! The decoder against hostile input: one case per rule of SPEC.md section 2.

use std::time::Duration;

use hsmjwt::core::{Part, b64};
use hsmjwt::{Algorithm, Error, NumericDate, Validation, decode, decode_insecure};

use crate::common::{ed25519, es256, es256_other, es512, forge, rs256};

const NOW: i64 = 1_700_000_000;

fn v() -> Validation {
    Validation::new().at(NumericDate::from_unix(NOW))
}

fn ok_payload() -> String {
    format!(r#"{{"iss":"a","exp":{}}}"#, NOW + 60)
}

fn es_header() -> &'static str {
    r#"{"alg":"ES256","typ":"JWT"}"#
}

/// Decodes with the ES256 test key and the default validation at NOW.
fn check(token: &str) -> Result<hsmjwt::Token, Error> {
    decode(token, &es256().verifier, &v())
}

fn good() -> String {
    forge(es_header(), &ok_payload(), &es256().signer)
}

#[test]
fn a_well_formed_token_passes() {
    let t = check(&good()).expect("valid");
    assert_eq!(t.claims.iss.as_deref(), Some("a"));
}

#[test]
fn size_limit_default_and_configurable() {
    let big = format!(
        r#"{{"exp":{},"pad":"{}"}}"#,
        NOW + 60,
        "x".repeat(70 * 1024)
    );
    let token = forge(es_header(), &big, &es256().signer);
    assert!(matches!(
        check(&token),
        Err(Error::TokenTooLarge { limit: 65536, .. })
    ));
    let small = good();
    let limit = small.len() - 1;
    let err = decode(&small, &es256().verifier, &v().with_max_token_size(limit));
    assert!(matches!(err, Err(Error::TokenTooLarge { .. })));
    assert!(
        decode(
            &token,
            &es256().verifier,
            &v().with_max_token_size(200 * 1024)
        )
        .is_ok()
    );
}

#[test]
fn wrong_number_of_parts() {
    let t = good();
    let two = t.rsplit_once('.').unwrap().0.to_owned();
    for (bad, n) in [
        (two, 2),
        (format!("{t}.x"), 4),
        (String::new(), 1),
        ("a.b.c.d.e".into(), 5),
    ] {
        match check(&bad) {
            Err(Error::WrongPartCount { parts }) => assert_eq!(parts, n, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// Decoding `token` fails because `part` is not canonical base64url.
fn assert_invalid_base64(token: &str, part: Part) {
    let err = check(token);
    assert!(
        matches!(&err, Err(Error::InvalidBase64 { part: p, .. }) if *p == part),
        "{token}: {err:?}"
    );
}

fn replace_part(token: &str, index: usize, new: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = new;
    parts.join(".")
}

#[test]
fn padding_is_rejected() {
    let t = good();
    let h = t.split('.').next().unwrap();
    assert!(!h.is_empty());
    let padded = format!("{h}=");
    assert_invalid_base64(&replace_part(&t, 0, &padded), Part::Header);
}

#[test]
fn standard_alphabet_is_rejected() {
    // {"alg":"ES256","x":"??>"} encodes with '+' or '/' in the standard alphabet.
    let header = r#"{"alg":"ES256","x":"?>?"}"#;
    let url = b64::encode(header.as_bytes());
    assert!(url.contains('-') || url.contains('_'), "{url}");
    let std_alpha = url.replace('-', "+").replace('_', "/");
    let t = forge(header, &ok_payload(), &es256().signer);
    assert_invalid_base64(&replace_part(&t, 0, &std_alpha), Part::Header);
}

#[test]
fn whitespace_is_rejected_even_at_the_ends() {
    let t = good();
    for (bad, part) in [
        (format!(" {t}"), Part::Header),
        (t.replacen('.', ". ", 1), Part::Payload),
        (format!("{t}\n"), Part::Signature),
    ] {
        assert_invalid_base64(&bad, part);
    }
}

#[test]
fn non_canonical_trailing_bits_are_rejected() {
    let t = good();
    let sig = t.rsplit('.').next().unwrap().to_owned();
    // A 64-byte signature is 86 characters; the last carries 4 unused bits.
    assert_eq!(sig.len(), 86);
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).unwrap();
    // The last character of a 64-byte value uses only its top 2 bits (index a multiple of
    // 16); setting the lowest bit makes the unused bits non-zero.
    assert_eq!(idx % 16, 0, "{last}");
    let tweaked = alphabet.chars().nth(idx | 1).unwrap();
    let bad_sig = format!("{}{tweaked}", &sig[..85]);
    assert_invalid_base64(&replace_part(&t, 2, &bad_sig), Part::Signature);
}

#[test]
fn header_must_be_a_json_object() {
    let s = &es256().signer;
    assert!(matches!(
        check(&forge("not json", &ok_payload(), s)),
        Err(Error::InvalidJson { what: "header", .. })
    ));
    assert!(matches!(
        check(&forge(r#"["ES256"]"#, &ok_payload(), s)),
        Err(Error::NotAnObject { what: "header" })
    ));
    assert!(matches!(
        check(&forge(r#"{"alg":"ES256"} {}"#, &ok_payload(), s)),
        Err(Error::InvalidJson { .. })
    ));
}

#[test]
fn payload_must_be_a_json_object() {
    let s = &es256().signer;
    assert!(matches!(
        check(&forge(es_header(), "[1]", s)),
        Err(Error::NotAnObject { what: "payload" })
    ));
    assert!(matches!(
        check(&forge(es_header(), "{", s)),
        Err(Error::InvalidJson {
            what: "payload",
            ..
        })
    ));
}

#[test]
fn duplicate_header_member() {
    let t = forge(
        r#"{"alg":"ES256","kid":"a","kid":"b"}"#,
        &ok_payload(),
        &es256().signer,
    );
    assert!(
        matches!(check(&t), Err(Error::DuplicateMember { what: "header", name }) if name == "kid")
    );
    // The classic: two `alg` members.
    let t = forge(
        r#"{"alg":"ES256","alg":"none"}"#,
        &ok_payload(),
        &es256().signer,
    );
    assert!(matches!(check(&t), Err(Error::DuplicateMember { name, .. }) if name == "alg"));
}

#[test]
fn duplicate_claim() {
    let p = format!(r#"{{"sub":"alice","exp":{},"sub":"admin"}}"#, NOW + 60);
    let t = forge(es_header(), &p, &es256().signer);
    assert!(
        matches!(check(&t), Err(Error::DuplicateMember { what: "payload", name }) if name == "sub")
    );
}

#[test]
fn none_and_hmac_are_unsupported() {
    // EdDSA is supported, but only by that name: RFC 7515 names are case-sensitive, and a
    // curve name is not an algorithm.
    for alg in [
        "none", "None", "HS256", "HS512", "eddsa", "EDDSA", "Ed25519", "Ed448", "ES512K", "es512",
    ] {
        let h = b64::encode(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
        let p = b64::encode(ok_payload().as_bytes());
        for sig in ["", "AAAA"] {
            let token = format!("{h}.{p}.{sig}");
            assert!(
                matches!(check(&token), Err(Error::UnsupportedAlgorithm(a)) if a == alg),
                "{alg}"
            );
            assert!(decode_insecure(&token).is_err());
        }
    }
}

#[test]
fn alg_comes_from_the_key_not_the_token() {
    // An RS256 token presented to an ES256 key.
    let t = forge(r#"{"alg":"RS256"}"#, &ok_payload(), &rs256().signer);
    assert!(matches!(
        check(&t),
        Err(Error::AlgorithmMismatch {
            expected: Algorithm::ES256,
            found: Algorithm::RS256
        })
    ));
    // A PS256 header on an RS256 key's token.
    let t = forge(r#"{"alg":"PS256"}"#, &ok_payload(), &rs256().signer);
    assert!(matches!(
        decode(&t, &rs256().verifier, &v()),
        Err(Error::AlgorithmMismatch {
            expected: Algorithm::RS256,
            found: Algorithm::PS256
        })
    ));
}

#[test]
fn unknown_crit_is_rejected_and_known_crit_accepted() {
    let h = r#"{"alg":"ES256","crit":["exp_v2"],"exp_v2":1}"#;
    let t = forge(h, &ok_payload(), &es256().signer);
    assert!(matches!(check(&t), Err(Error::UnsupportedCritical(n)) if n == "exp_v2"));
    assert!(decode(&t, &es256().verifier, &v().understand_crit("exp_v2")).is_ok());
    // crit naming a member that is absent.
    let t = forge(
        r#"{"alg":"ES256","crit":["x"]}"#,
        &ok_payload(),
        &es256().signer,
    );
    assert!(matches!(check(&t), Err(Error::InvalidHeader { name, .. }) if name == "crit"));
}

#[test]
fn unencoded_payload_is_rejected() {
    let t = forge(
        r#"{"alg":"ES256","b64":false,"crit":["b64"]}"#,
        &ok_payload(),
        &es256().signer,
    );
    assert!(matches!(check(&t), Err(Error::InvalidHeader { name, .. }) if name == "b64"));
}

#[test]
fn registered_claims_of_the_wrong_type_are_errors() {
    let s = &es256().signer;
    for (payload, claim) in [
        (r#"{"exp":"1900000000"}"#.to_owned(), "exp"),
        (format!(r#"{{"exp":{},"nbf":"0"}}"#, NOW + 60), "nbf"),
        (format!(r#"{{"exp":{},"iat":[1]}}"#, NOW + 60), "iat"),
        (format!(r#"{{"exp":{},"aud":1}}"#, NOW + 60), "aud"),
        (format!(r#"{{"exp":{},"iss":false}}"#, NOW + 60), "iss"),
        (format!(r#"{{"exp":{},"sub":null}}"#, NOW + 60), "sub"),
        (format!(r#"{{"exp":{},"jti":7}}"#, NOW + 60), "jti"),
    ] {
        let t = forge(es_header(), &payload, s);
        match check(&t) {
            Err(Error::InvalidClaim { name, .. }) => assert_eq!(name, claim),
            other => panic!("{payload}: {other:?}"),
        }
    }
}

#[test]
fn header_members_of_the_wrong_type_are_errors() {
    let s = &es256().signer;
    for (h, name) in [
        (r#"{"alg":"ES256","kid":5}"#, "kid"),
        (r#"{"alg":"ES256","typ":{}}"#, "typ"),
        (r#"{"alg":"ES256","x5c":[1]}"#, "x5c"),
        (r#"{"alg":["ES256"]}"#, "alg"),
    ] {
        match check(&forge(h, &ok_payload(), s)) {
            Err(Error::InvalidHeader { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{h}: {other:?}"),
        }
    }
}

#[test]
fn exp_is_required_by_default() {
    let t = forge(es_header(), r#"{"iss":"a"}"#, &es256().signer);
    assert!(matches!(check(&t), Err(Error::MissingClaim(c)) if c == "exp"));
    assert!(
        decode(
            &t,
            &es256().verifier,
            &v().with_required_claims(Vec::<String>::new())
        )
        .is_ok()
    );
}

#[test]
fn expiry_with_leeway() {
    let s = &es256().signer;
    let t = forge(es_header(), &format!(r#"{{"exp":{}}}"#, NOW - 31), s);
    assert!(matches!(check(&t), Err(Error::Expired { .. })));
    let t = forge(es_header(), &format!(r#"{{"exp":{}}}"#, NOW - 29), s);
    assert!(check(&t).is_ok(), "inside the default 30 s leeway");
    assert!(matches!(
        decode(&t, &es256().verifier, &v().with_leeway(Duration::ZERO)),
        Err(Error::Expired { .. })
    ));
}

#[test]
fn not_before_in_the_future() {
    let t = forge(
        es_header(),
        &format!(r#"{{"exp":{},"nbf":{}}}"#, NOW + 600, NOW + 120),
        &es256().signer,
    );
    assert!(matches!(check(&t), Err(Error::NotYetValid { .. })));
}

#[test]
fn issued_in_the_future() {
    let t = forge(
        es_header(),
        &format!(r#"{{"exp":{},"iat":{}}}"#, NOW + 600, NOW + 120),
        &es256().signer,
    );
    assert!(matches!(check(&t), Err(Error::IssuedInFuture { .. })));
}

#[test]
fn lifetime_too_long() {
    let t = forge(
        es_header(),
        &format!(r#"{{"exp":{},"iat":{}}}"#, NOW + 86_400 * 2, NOW),
        &es256().signer,
    );
    assert!(check(&t).is_ok());
    let err = decode(
        &t,
        &es256().verifier,
        &v().with_max_lifetime(Duration::from_secs(86_400)),
    );
    assert!(matches!(err, Err(Error::LifetimeTooLong { .. })), "{err:?}");
}

#[test]
fn issuer_subject_audience() {
    let s = &es256().signer;
    let p = format!(
        r#"{{"iss":"a","sub":"s","aud":["x","y"],"exp":{}}}"#,
        NOW + 60
    );
    let t = forge(es_header(), &p, s);
    let key = &es256().verifier;
    assert!(
        decode(
            &t,
            key,
            &v().with_issuer("a").with_subject("s").with_audience("y")
        )
        .is_ok()
    );
    assert!(matches!(
        decode(&t, key, &v().with_audience("y").with_issuer("b")),
        Err(Error::InvalidIssuer(_))
    ));
    assert!(matches!(
        decode(&t, key, &v().with_audience("y").with_subject("t")),
        Err(Error::InvalidSubject(_))
    ));
    assert!(matches!(
        decode(&t, key, &v().with_audience("z")),
        Err(Error::InvalidAudience(_))
    ));
    assert!(matches!(
        decode(&t, key, &v()),
        Err(Error::UnexpectedAudience(_))
    ));
    assert!(decode(&t, key, &v().with_any_audience()).is_ok());
    // Expected values but the claims are missing.
    let bare = forge(es_header(), &format!(r#"{{"exp":{}}}"#, NOW + 60), s);
    assert!(
        matches!(decode(&bare, key, &v().with_issuer("a")), Err(Error::MissingClaim(c)) if c == "iss")
    );
    assert!(
        matches!(decode(&bare, key, &v().with_audience("x")), Err(Error::MissingClaim(c)) if c == "aud")
    );
    assert!(
        matches!(decode(&bare, key, &v().with_subject("s")), Err(Error::MissingClaim(c)) if c == "sub")
    );
}

#[test]
fn typ_is_checked_when_asked() {
    let t = good();
    assert!(decode(&t, &es256().verifier, &v().with_typ("jwt")).is_ok());
    assert!(decode(&t, &es256().verifier, &v().with_typ("application/JWT")).is_ok());
    assert!(matches!(
        decode(&t, &es256().verifier, &v().with_typ("oauth-authz-req+jwt")),
        Err(Error::InvalidType { .. })
    ));
}

#[test]
fn signatures_that_do_not_verify_are_one_opaque_error() {
    let t = good();
    // Another key's signature.
    let other = forge(es_header(), &ok_payload(), &es256_other().signer);
    assert!(matches!(check(&other), Err(Error::InvalidSignature)));
    // A flipped bit in the payload.
    let p = b64::encode(format!(r#"{{"iss":"b","exp":{}}}"#, NOW + 60).as_bytes());
    assert!(matches!(
        check(&replace_part(&t, 1, &p)),
        Err(Error::InvalidSignature)
    ));
    // Truncated, empty and over-long ES256 signatures.
    let sig = b64::decode(t.rsplit('.').next().unwrap().as_bytes()).unwrap();
    assert_eq!(sig.len(), 64);
    for bad in [&sig[..63], &[][..], &[sig.as_slice(), &[0]].concat()[..]] {
        let err = check(&replace_part(&t, 2, &b64::encode(bad)));
        assert!(matches!(err, Err(Error::InvalidSignature)), "{err:?}");
    }
    // A DER-encoded ECDSA signature is not accepted in place of r || s.
    let err = check(&replace_part(&t, 2, &b64::encode(&[0x30; 70])));
    assert!(matches!(err, Err(Error::InvalidSignature)));
    assert_eq!(Error::InvalidSignature.to_string(), "signature invalid");
}

#[test]
fn embedded_jwk_and_jku_are_not_trusted() {
    // An attacker signs with their key and embeds its public half.
    let attacker = &es256_other().signer;
    let jwk = serde_json::to_string(hsmjwt::Signer::public_key(attacker)).unwrap();
    let h = format!(r#"{{"alg":"ES256","jwk":{jwk},"jku":"https://evil.example/jwks"}}"#);
    let t = forge(&h, &ok_payload(), attacker);
    assert!(matches!(check(&t), Err(Error::InvalidSignature)));
}

#[test]
fn key_sets_pick_by_kid() {
    use hsmjwt::Verifier;
    use hsmjwt::soft::{PublicKey, SoftVerifier};
    let mk = |pair: &crate::common::Pair, kid: &str| {
        SoftVerifier::new(
            &PublicKey::from_jwk(hsmjwt::Signer::public_key(&pair.signer)).expect("pk"),
            Algorithm::ES256,
        )
        .expect("verifier")
        .with_kid(kid)
    };
    let a = mk(es256(), "a");
    let b = mk(es256_other(), "b");
    let keys = [&a as &dyn Verifier, &b as &dyn Verifier];
    let t = forge(
        r#"{"alg":"ES256","kid":"b"}"#,
        &ok_payload(),
        &es256_other().signer,
    );
    assert!(hsmjwt::decode_with_keys(&t, keys, &v()).is_ok());
    let t = forge(
        r#"{"alg":"ES256","kid":"c"}"#,
        &ok_payload(),
        &es256_other().signer,
    );
    assert!(matches!(
        hsmjwt::decode_with_keys(&t, keys, &v()),
        Err(Error::NoMatchingKey { .. })
    ));
    // The right kid with the wrong key's signature.
    let t = forge(
        r#"{"alg":"ES256","kid":"a"}"#,
        &ok_payload(),
        &es256_other().signer,
    );
    assert!(matches!(
        hsmjwt::decode_with_keys(&t, keys, &v()),
        Err(Error::InvalidSignature)
    ));
    // An RS256 token against a set of ES256 keys.
    let t = forge(
        r#"{"alg":"RS256","kid":"a"}"#,
        &ok_payload(),
        &rs256().signer,
    );
    assert!(matches!(
        hsmjwt::decode_with_keys(&t, keys, &v()),
        Err(Error::NoMatchingKey { .. })
    ));
}

#[test]
fn decode_insecure_is_strict_about_structure() {
    assert!(decode_insecure(&good()).is_ok());
    let t = forge(r#"{"alg":"ES256","alg":"ES256"}"#, "{}", &es256().signer);
    assert!(matches!(
        decode_insecure(&t),
        Err(Error::DuplicateMember { .. })
    ));
    let t = forge(es_header(), r#"{"exp":"x"}"#, &es256().signer);
    assert!(matches!(
        decode_insecure(&t),
        Err(Error::InvalidClaim { .. })
    ));
}

/// Decodes with `verifier` at NOW.
fn check_with(token: &str, verifier: &dyn hsmjwt::Verifier) -> Result<hsmjwt::Token, Error> {
    decode(token, verifier, &v())
}

/// A good token of `alg` signed by `signer`, and its signature bytes.
fn signed(alg: &str, signer: &dyn hsmjwt::Signer) -> (String, Vec<u8>) {
    let t = forge(
        &format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
        &ok_payload(),
        signer,
    );
    let sig = b64::decode(t.rsplit('.').next().unwrap().as_bytes()).unwrap();
    (t, sig)
}

#[test]
fn es512_signatures_are_exactly_132_bytes_of_r_and_s() {
    let (t, sig) = signed("ES512", &es512().signer);
    assert!(check_with(&t, &es512().verifier).is_ok());
    assert_eq!(sig.len(), 132);
    // 130 and 134 bytes: cut, or padded (two zeros in front; or r and s of 67 bytes each,
    // as a careless conversion from DER leaves them, and of 65 bytes each).
    let padded = [&[0u8, 0][..], &sig].concat();
    let each_67 = [&[0u8][..], &sig[..66], &[0], &sig[66..]].concat();
    let each_65 = [&sig[1..66], &sig[67..]].concat();
    assert_eq!(
        (padded.len(), each_67.len(), each_65.len()),
        (134, 134, 130)
    );
    for bad in [
        &sig[..130],
        &each_65[..],
        &padded[..],
        &each_67[..],
        &[][..],
    ] {
        let err = check_with(&replace_part(&t, 2, &b64::encode(bad)), &es512().verifier);
        assert!(
            matches!(err, Err(Error::InvalidSignature)),
            "{}: {err:?}",
            bad.len()
        );
    }
    // The same signature in DER (SEQUENCE of two INTEGERs), as X.509 would carry it.
    let der = p521::ecdsa::Signature::from_slice(&sig).unwrap().to_der();
    let err = check_with(
        &replace_part(&t, 2, &b64::encode(der.as_bytes())),
        &es512().verifier,
    );
    assert!(matches!(err, Err(Error::InvalidSignature)), "{err:?}");
    // r and s swapped.
    let swapped = [&sig[66..], &sig[..66]].concat();
    let err = check_with(
        &replace_part(&t, 2, &b64::encode(&swapped)),
        &es512().verifier,
    );
    assert!(matches!(err, Err(Error::InvalidSignature)), "{err:?}");
}

#[test]
fn ed25519_signatures_are_exactly_64_bytes() {
    let (t, sig) = signed("EdDSA", &ed25519().signer);
    assert!(check_with(&t, &ed25519().verifier).is_ok());
    assert_eq!(sig.len(), 64);
    for bad in [&sig[..63], &[sig.as_slice(), &[0]].concat()[..], &[][..]] {
        let err = check_with(&replace_part(&t, 2, &b64::encode(bad)), &ed25519().verifier);
        assert!(
            matches!(err, Err(Error::InvalidSignature)),
            "{}: {err:?}",
            bad.len()
        );
    }
    let mut flipped = sig.clone();
    flipped[40] ^= 0x80;
    let err = check_with(
        &replace_part(&t, 2, &b64::encode(&flipped)),
        &ed25519().verifier,
    );
    assert!(matches!(err, Err(Error::InvalidSignature)), "{err:?}");
}

#[test]
fn keys_of_another_kind_are_refused() {
    use hsmjwt::soft::{Error as SoftError, PublicKey, SoftVerifier};
    let public = |pair: &crate::common::Pair| {
        PublicKey::from_jwk(hsmjwt::Signer::public_key(&pair.signer)).unwrap()
    };
    // An OKP key for ES256 or ES512, an EC key for EdDSA, a P-256 key for ES512, a P-521
    // key for ES256: no verifier is made.
    for (key, alg) in [
        (public(ed25519()), Algorithm::ES256),
        (public(ed25519()), Algorithm::ES512),
        (public(ed25519()), Algorithm::RS256),
        (public(es256()), Algorithm::EdDSA),
        (public(es512()), Algorithm::EdDSA),
        (public(es256()), Algorithm::ES512),
        (public(es512()), Algorithm::ES256),
        (public(rs256()), Algorithm::EdDSA),
    ] {
        let err = SoftVerifier::new(&key, alg).unwrap_err();
        assert!(
            matches!(err, SoftError::AlgorithmMismatch { .. }),
            "{alg}: {err:?}"
        );
        // A JWK pinned to that algorithm is refused too.
        let jwk = key.jwk().with_alg(alg);
        assert!(SoftVerifier::from_jwk(&jwk, None).is_err(), "{alg}");
    }

    // The token's `alg` is never the key's: each token meets the other kinds' verifiers.
    let (ed_token, ed_sig) = signed("EdDSA", &ed25519().signer);
    let (es512_token, _) = signed("ES512", &es512().signer);
    for (token, verifier, expected, found) in [
        (
            &ed_token,
            &es256().verifier,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ),
        (
            &ed_token,
            &es512().verifier,
            Algorithm::ES512,
            Algorithm::EdDSA,
        ),
        (
            &es512_token,
            &ed25519().verifier,
            Algorithm::EdDSA,
            Algorithm::ES512,
        ),
        (
            &es512_token,
            &es256().verifier,
            Algorithm::ES256,
            Algorithm::ES512,
        ),
    ] {
        let err = check_with(token, verifier);
        assert!(
            matches!(err, Err(Error::AlgorithmMismatch { expected: e, found: f }) if e == expected && f == found),
            "{err:?}"
        );
    }
    // An Ed25519 signature is as long as an ES256 one: relabelled ES256, it meets the
    // ES256 key and fails as a signature, not as a length.
    let relabelled = forge(r#"{"alg":"ES256"}"#, &ok_payload(), &ed25519().signer);
    assert_eq!(ed_sig.len(), 64);
    assert!(matches!(check(&relabelled), Err(Error::InvalidSignature)));
    // And an ES256 signature relabelled EdDSA fails with the Ed25519 key.
    let relabelled = forge(r#"{"alg":"EdDSA"}"#, &ok_payload(), &es256().signer);
    assert!(matches!(
        check_with(&relabelled, &ed25519().verifier),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn okp_jwks_are_strict() {
    use hsmjwt::{Jwk, Jwks};
    let x = b64::encode(&[9u8; 32]);
    let d = b64::encode(&[7u8; 32]);
    let short = b64::encode(&[9u8; 31]);
    let long = b64::encode(&[9u8; 33]);
    let good = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#);
    assert!(Jwk::from_json(good.as_bytes()).is_ok());
    for bad in [
        // Key agreement curves and Ed448 are not Ed25519.
        format!(r#"{{"kty":"OKP","crv":"X25519","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed448","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"ed25519","x":"{x}"}}"#),
        // A private key where a public one is expected.
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{d}"}}"#),
        // 31 and 33 bytes, nothing, padded base64url.
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{short}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{long}"}}"#),
        r#"{"kty":"OKP","crv":"Ed25519","x":""}"#.to_owned(),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}="}}"#),
        // `x` missing, `crv` missing, `crv` of an EC key, EC members on an OKP key.
        r#"{"kty":"OKP","crv":"Ed25519"}"#.to_owned(),
        format!(r#"{{"kty":"OKP","x":"{x}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"P-256","x":"{x}"}}"#),
        format!(r#"{{"kty":"EC","crv":"Ed25519","x":"{x}","y":"{x}"}}"#),
    ] {
        let err = Jwk::from_json(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::InvalidJwk(_)), "{bad}: {err:?}");
    }
    // In a set, an OKP key on another curve is skipped; a bad Ed25519 key, or one with
    // `d`, fails the set.
    let set = |k: &str| format!(r#"{{"keys":[{k},{good}]}}"#);
    let skipped =
        Jwks::from_json(set(&format!(r#"{{"kty":"OKP","crv":"X25519","x":"{x}"}}"#)).as_bytes())
            .unwrap();
    assert_eq!(skipped.keys.len(), 1);
    for bad in [
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{d}"}}"#),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{short}"}}"#),
    ] {
        assert!(Jwks::from_json(set(&bad).as_bytes()).is_err(), "{bad}");
    }
    // A P-521 key with 65-byte coordinates, and P-521 coordinates called P-384.
    let c66 = b64::encode(&[1u8; 66]);
    let c65 = b64::encode(&[1u8; 65]);
    for bad in [
        format!(r#"{{"kty":"EC","crv":"P-521","x":"{c65}","y":"{c66}"}}"#),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{c66}","y":"{c66}"}}"#),
    ] {
        assert!(Jwk::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}
