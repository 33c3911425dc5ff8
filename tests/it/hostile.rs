//! The decoder against hostile input: one case per rule of SPEC.md section 2.

use std::time::Duration;

use hsmjwt::core::{Part, b64};
use hsmjwt::{Algorithm, Error, NumericDate, Validation, decode, decode_insecure};

use crate::common::{es256, es256_other, forge, rs256};

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
    for alg in ["none", "None", "HS256", "HS512", "EdDSA"] {
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
