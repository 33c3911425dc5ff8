//! `hsmjwt decode` shows tokens as they are, hostile ones included, and `decode` and
//! `verify` print claims as the token has them.

use std::path::Path;

use crate::{Run, hsmjwt, hsmjwt_stdin, json, p};

fn b64(bytes: &[u8]) -> String {
    ::hsmjwt::core::b64::encode(bytes)
}

fn token(header: &str, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(signature)
    )
}

/// `decode` succeeded: the JSON on stdout, and the warning plus, when there are problems,
/// `problems:` and one `  - ` line each on stderr.
fn shown(run: Run) -> serde_json::Value {
    let err = run.stderr();
    let v = json(&run.ok());
    assert_eq!(v["verified"], false, "{v}");
    let problems: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut expected =
        vec!["warning: signature and claims NOT verified (use `hsmjwt verify`)".to_owned()];
    if !problems.is_empty() {
        expected.push("problems:".to_owned());
        expected.extend(problems.iter().map(|p| format!("  - {p}")));
    }
    assert_eq!(err.lines().collect::<Vec<_>>(), expected, "{err}");
    v
}

fn problems(v: &serde_json::Value) -> String {
    v["problems"].to_string()
}

/// What an incident responder needs to see: every kind of token the strict decoder
/// refuses is shown, marked unverified, with its problems.
#[test]
fn decode_shows_hostile_tokens() {
    let sig = [5u8; 64];
    for (t, header, claims, expected) in [
        (
            token(r#"{"alg":"none"}"#, r#"{"sub":"admin"}"#, &[]),
            serde_json::json!({"alg": "none"}),
            serde_json::json!({"sub": "admin"}),
            "unsupported algorithm `none`",
        ),
        (
            token(
                r#"{"alg":"HS256","typ":"JWT"}"#,
                r#"{"sub":"admin"}"#,
                &[1; 32],
            ),
            serde_json::json!({"alg": "HS256", "typ": "JWT"}),
            serde_json::json!({"sub": "admin"}),
            "unsupported algorithm `HS256`",
        ),
        (
            token(
                r#"{"alg":"ES256","b64":false,"crit":["b64"]}"#,
                r#"{"a":1}"#,
                &sig,
            ),
            serde_json::json!({"alg": "ES256", "b64": false, "crit": ["b64"]}),
            serde_json::json!({"a": 1}),
            "header member `b64` is false",
        ),
        (
            token(r#"{"alg":"ES256"}"#, r#"{"exp":"soon"}"#, &sig),
            serde_json::json!({"alg": "ES256"}),
            serde_json::json!({"exp": "soon"}),
            "claim `exp` must be a number (NumericDate)",
        ),
        (
            token(r#"{"alg":"ES256"}"#, r#"{"sub":"a","sub":"admin"}"#, &sig),
            serde_json::json!({"alg": "ES256"}),
            // A JSON parser keeps the last (the text on stdout has both).
            serde_json::json!({"sub": "admin"}),
            "payload has a duplicate member `sub`",
        ),
        (
            // Padding, the standard alphabet and trailing bits.
            format!(
                "{}=.{}.{}",
                b64(br#"{"alg":"ES256","kid":"?>"}"#),
                b64(br#"{"a":"~~"}"#).replace('-', "+").replace('_', "/"),
                "AB"
            ),
            serde_json::json!({"alg": "ES256", "kid": "?>"}),
            serde_json::json!({"a": "~~"}),
            "not canonical base64url without padding",
        ),
    ] {
        let v = shown(hsmjwt(&["decode", &t]));
        assert_eq!(v["header"], header, "{t}");
        assert_eq!(v["claims"], claims, "{t}");
        assert!(problems(&v).contains(expected), "{expected} not in {v}");
        // The strict decoder still refuses every one of them.
        hsmjwt(&["verify", "--key", "/nonexistent.pem", &t]).fails();
    }
    // Duplicates are shown as the token has them.
    let t = token(r#"{"alg":"ES256"}"#, r#"{"sub":"a","sub":"admin"}"#, &sig);
    let out = hsmjwt(&["decode", &t]).ok();
    assert!(
        out.contains("\"sub\": \"a\",\n    \"sub\": \"admin\""),
        "{out}"
    );
    // A header without `alg` is a JWS with a problem, not garbage.
    let v = shown(hsmjwt(&["decode", "e30.e30."]));
    assert_eq!(v["header"], serde_json::json!({}));
    assert_eq!(
        v["problems"],
        serde_json::json!(["header member `alg` is missing"])
    );
}

/// A token the strict decoder accepts has no problems.
#[test]
fn decode_of_a_good_token_has_no_problems() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let t = hsmjwt(&["sign", "--key", p(&key), "--iss", "me"]).ok();
    let v = shown(hsmjwt(&["decode", t.trim()]));
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(v["signature_len"], 64);
    assert_eq!(v["claims"]["iss"], "me");
}

/// Only what is not a JWS at all is an error; a JWE says what it is.
#[test]
fn decode_refuses_what_is_not_a_jws() {
    let line = hsmjwt(&["decode", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"]).fails();
    assert_eq!(
        line,
        "error: this is a JWE (5 parts), not a JWS: it is encrypted and cannot be shown"
    );
    for garbage in ["garbage", "a.b.c", "..", "W10.e30.", "a.b"] {
        hsmjwt(&["decode", garbage]).fails();
    }
    hsmjwt(&["decode", "Bearer "]).fails();
}

fn numbers_token(dir: &Path) -> (String, String) {
    let key = dir.join("k.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let signer =
        ::hsmjwt::soft::SoftSigner::new(::hsmjwt::soft::PrivateKey::load(&key).unwrap(), None)
            .unwrap();
    let payload = r#"{"exp":4000000000,"big":123456789012345678901234567890,"u":12345678901234567890,"f":0.1000000000000000000000000001,"e":1.5e300}"#;
    let header = ::hsmjwt::Header::jwt(::hsmjwt::Algorithm::ES256);
    let t = ::hsmjwt::core::encode_payload(&header, payload.as_bytes(), &signer).unwrap();
    (t, p(&key).to_owned())
}

/// `decode` and `verify` print numbers as the token has them, not rounded to floats.
#[test]
fn claims_are_printed_as_the_token_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let (t, key) = numbers_token(dir.path());
    let verified = hsmjwt(&["verify", "--key", &key, &t]).ok();
    let decoded = hsmjwt(&["decode", &t]).ok();
    for out in [&verified, &decoded] {
        for part in [
            r#""big": 123456789012345678901234567890,"#,
            r#""u": 12345678901234567890,"#,
            r#""f": 0.1000000000000000000000000001,"#,
            r#""e": 1.5e300"#,
        ] {
            assert!(out.contains(part), "{part} not in {out}");
        }
    }
    assert_eq!(json(&verified)["header"]["alg"], "ES256");
    assert!(json(&verified).get("problems").is_none(), "{verified}");

    // Beyond what the strict decoder accepts: shown as written, with the problem.
    let payload = r#"{"exp":12345678901234567890,"n":1e400}"#;
    let t = token(r#"{"alg":"ES256"}"#, payload, &[5; 64]);
    let run = hsmjwt(&["decode", &t]);
    let err = run.stderr();
    let out = run.ok();
    assert!(
        out.contains("\"exp\": 12345678901234567890,\n    \"n\": 1e400\n"),
        "{out}"
    );
    // (serde_json refuses 1e400, which JSON allows: read the problems from stderr.)
    assert!(
        err.contains("\n  - payload is not valid JSON: number out of range")
            && err.contains("\n  - claim `exp` is out of range"),
        "{err}"
    );
}

/// `Bearer <token>`, header lines and `@FILE` are read as people paste them.
#[test]
fn decode_takes_tokens_as_people_paste_them() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = numbers_token(dir.path());
    let file = dir.path().join("header.txt");
    std::fs::write(&file, format!("AD-Service-Token: {t}\r\n")).unwrap();
    let at_file = format!("@{}", p(&file));
    let expected = json(&hsmjwt(&["decode", &t]).ok());
    let bearer = format!("Bearer {t}");
    let authorization = format!("authorization: bearer  {t}");
    let service = format!("AD-Service-Token: {t}");
    for arg in [&bearer, &authorization, &service, &at_file] {
        assert_eq!(json(&hsmjwt(&["decode", arg]).ok()), expected, "{arg}");
    }
    let stdin = format!("  Bearer {t}\n");
    assert_eq!(
        json(&hsmjwt_stdin(&["decode"], Some(&stdin)).ok()),
        expected
    );
    let line = hsmjwt(&["decode", &format!("@{}", p(&dir.path().join("missing")))]).fails();
    assert!(line.contains("missing"), "{line}");
    // Read with a bound.
    let large = dir.path().join("large.txt");
    std::fs::write(&large, vec![b'a'; 5 << 20]).unwrap();
    let line = hsmjwt(&["decode", &format!("@{}", p(&large))]).fails();
    assert!(line.contains("larger than"), "{line}");
    // The header line `service-token --header-line` prints, piped.
    let rsa = dir.path().join("rsa.pem");
    hsmjwt(&["keygen", "--alg", "RS256", "--out", p(&rsa)]).ok();
    let line = hsmjwt(&[
        "service-token",
        "--key",
        p(&rsa),
        "--iss",
        "https://idp.example",
        "--sub",
        "u",
        "--kid",
        "k1",
        "--header-line",
    ])
    .ok();
    assert!(line.starts_with("AD-Service-Token: "), "{line}");
    let v = shown(hsmjwt_stdin(&["decode"], Some(&line)));
    assert_eq!(v["header"]["kid"], "k1");
    assert_eq!(v["claims"]["sub"], "u");
}
