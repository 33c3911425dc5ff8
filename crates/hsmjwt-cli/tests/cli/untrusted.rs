//! Text from tokens, files and URIs never reaches the terminal raw: a forged value with a
//! newline, a carriage return, a terminal title sequence and a right-to-left override is
//! shown escaped, and every failure is still one line.

use std::path::Path;

use hsmjwt_testkit::softhsm::{self, Builder, PIN};

use crate::{Run, hsmjwt, hsmjwt_softhsm, hsmjwt_stdin, json, p};

/// A value that would fake an `error:` line, retitle the terminal and reverse the text.
const FORGED: &str = "a\nerror: forged\r\u{1b}]0;pwned\u{7}\u{202e}z";
/// How a message shows it.
const SHOWN: &str = r"a\nerror: forged\r\u{1b}]0;pwned\u{7}\u{202e}z";

/// What a terminal would act on: control characters (but the newlines that end lines), line
/// separators and bidi formatting characters.
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{2028}'
                        | '\u{2029}'
                        | '\u{200e}'
                        | '\u{200f}'
                        | '\u{202a}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                        | '\u{61c}'
                        | '\u{feff}'
                )
        })
        .collect()
}

/// Fails with exit status 1 and exactly one line on stderr, `error: ...`, with nothing a
/// terminal acts on; returns the line.
fn one_clean_line(run: Run) -> String {
    let err = String::from_utf8(run.out.stderr.clone()).expect("UTF-8 stderr");
    assert_eq!(run.out.status.code(), Some(1), "{err:?}");
    assert!(err.starts_with("error: "), "{err:?}");
    assert!(
        err.ends_with('\n') && err.matches('\n').count() == 1,
        "not one line: {err:?}"
    );
    assert!(unsafe_chars(&err).is_empty(), "{err:?}");
    err.trim_end().to_owned()
}

fn b64(s: &str) -> String {
    ::hsmjwt::core::b64::encode(s.as_bytes())
}

/// A compact JWS with this header JSON, a payload and a made-up ES256-sized signature.
fn forged_raw(header: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header),
        b64(r#"{"sub":"x","exp":4000000000}"#),
        ::hsmjwt::core::b64::encode(&[7; 64])
    )
}

fn forged(header: &serde_json::Value) -> String {
    forged_raw(&header.to_string())
}

/// `hsmjwt decode` shows the token: exit 0, stdout JSON with nothing a terminal acts on,
/// and on stderr the warning and the problems, one line each.
fn decode_shows(token: &str) -> serde_json::Value {
    let run = hsmjwt(&["decode", token]);
    let out = run.stdout();
    let err = run.stderr();
    assert_eq!(run.out.status.code(), Some(0), "{err}");
    assert!(unsafe_chars(&out).is_empty(), "{out}");
    assert!(unsafe_chars(&err).is_empty(), "{err:?}");
    let v = json(&out);
    let problems = v["problems"].as_array().unwrap().len();
    let lines = 1 + if problems == 0 { 0 } else { 1 + problems };
    assert_eq!(err.lines().count(), lines, "{err}");
    v
}

fn keygen(dir: &Path) -> String {
    let key = dir.join("es256.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    p(&key).to_owned()
}

/// Forged `alg`, `kid`, `crit` and member names through `verify` and `decode`.
#[test]
fn forged_header_values_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let jwks = dir.path().join("jwks.json");
    let jwks_text = hsmjwt(&["pubkey", "--key", &key, "--format", "jwks", "--kid", "k1"]).ok();
    std::fs::write(&jwks, jwks_text).unwrap();
    let duplicate = forged_raw(&format!(
        r#"{{"alg":"ES256",{0}:1,{0}:2}}"#,
        serde_json::to_string(FORGED).unwrap()
    ));
    let cases = [
        (
            forged(&serde_json::json!({"alg": FORGED})),
            "unsupported algorithm",
        ),
        (
            forged(&serde_json::json!({"alg": "ES256", "kid": FORGED})),
            "no key matches the token",
        ),
        (
            forged(&serde_json::json!({"alg": "ES256", "crit": [FORGED], FORGED: 1})),
            "critical extension",
        ),
        (duplicate, "duplicate member"),
    ];
    for (token, what) in &cases {
        let line = one_clean_line(hsmjwt(&["verify", "--jwks", p(&jwks), token]));
        assert!(line.contains(what) && line.contains(SHOWN), "{line}");
        let v = decode_shows(token);
        assert_eq!(v["verified"], false);
        if *what != "no key matches the token" && *what != "critical extension" {
            let problems = v["problems"].to_string();
            assert!(problems.contains(what), "{problems}");
        }
    }
}

/// Forged `typ`, `iss`, `sub` and `aud` in a validly signed token: the mismatch is one line.
#[test]
fn forged_claims_in_mismatch_errors_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let typ = format!("typ={}", serde_json::to_string(FORGED).unwrap());
    for (sign_args, verify_args, what) in [
        (
            vec!["--header", typ.as_str()],
            vec!["--typ", "JWT"],
            "token type",
        ),
        (vec!["--iss", FORGED], vec!["--iss", "me"], "issuer"),
        (vec!["--sub", FORGED], vec!["--sub", "me"], "subject"),
        (vec!["--aud", FORGED], vec![], "audience"),
        (vec!["--aud", FORGED], vec!["--aud", "me"], "audience"),
    ] {
        let mut args = vec!["sign", "--key", &key];
        args.extend(&sign_args);
        let token = hsmjwt(&args).ok();
        let token = token.trim();
        let mut args = vec!["verify", "--key", &key];
        args.extend(&verify_args);
        args.push(token);
        let line = one_clean_line(hsmjwt(&args));
        assert!(line.contains(what) && line.contains(SHOWN), "{line}");
        // Shown as JSON with the characters escaped (`\u202e`, not the character).
        let v = decode_shows(token);
        assert_eq!(v["problems"], serde_json::json!([]));
        let shown = hsmjwt(&["decode", token]).ok();
        assert!(shown.contains(r"\u001b]0;pwned\u0007\u202ez"), "{shown}");
    }
}

/// `%0a`, `%1b`, `%07` and `%00` in a PKCS#11 URI decode to control characters: the
/// errors that name the attribute or the path show them escaped.
#[test]
fn pkcs11_uri_values_are_escaped() {
    const EVIL: &str = "%0aerror%3a%20forged%0d%1b%5d0%3bpwned%07%00";
    for (uri, what, shown) in [
        (
            format!("pkcs11:token=t;object=o?module-path=/nonexistent/{EVIL}.so&pin-value=1"),
            "module",
            r"\nerror: forged\r\u{1b}]0;pwned\u{7}\u{0}.so",
        ),
        (
            // Attribute names are not percent-decoded: raw characters in the argument.
            "pkcs11:token=t;object=o;x\nerror: forged\r\u{1b}[2J\u{7}=1".to_owned(),
            "attribute",
            r"x\nerror: forged\r\u{1b}[2J\u{7}",
        ),
        (
            format!("pkcs11:token=t;object=o;slot-id=1{EVIL}?module-path=/x.so"),
            "slot-id",
            r"1\nerror: forged\r\u{1b}]0;pwned\u{7}\0",
        ),
    ] {
        for cmd in ["sign", "pubkey"] {
            let line = one_clean_line(hsmjwt(&[cmd, "--key", &uri]));
            assert!(line.contains(what) && line.contains(shown), "{line}");
        }
    }
}

/// Token labels come from the token: a token or key label with control characters is
/// shown escaped by `hsm list` and in errors.
#[test]
fn token_and_key_labels_are_escaped() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token("untrusted")
        .key("untrusted", "k\r\n\u{1b}[2J", "01", "EC:prime256v1")
        .build()
        .unwrap();
    // A second token whose label the fixture cannot look up by name.
    let label = "t\n\u{1b}]0;pwned\u{7}";
    let made = hsm
        .apply_env(&mut std::process::Command::new("softhsm2-util"))
        .args(["--init-token", "--free", "--label", label])
        .args(["--pin", PIN, "--so-pin", softhsm::SO_PIN])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");

    let out = hsmjwt_softhsm(&hsm, &["hsm", "list"], Some(PIN)).ok();
    assert!(unsafe_chars(&out).is_empty(), "{out:?}");
    assert!(out.contains(r"token `t\n\u{1b}]0;pwned\u{7}`"), "{out}");
    let listed = hsmjwt_softhsm(&hsm, &["hsm", "list", "--json"], Some(PIN)).ok();
    assert!(unsafe_chars(&listed).is_empty(), "{listed:?}");
    assert!(
        json(&listed)
            .to_string()
            .contains(r"t\n\u001b]0;pwned\u0007"),
        "{listed}"
    );
    let one = ["hsm", "list", "--token", "pkcs11:token=untrusted"];
    let out = hsmjwt_softhsm(&hsm, &one, Some(PIN)).ok();
    assert!(unsafe_chars(&out).is_empty(), "{out:?}");
    assert!(out.contains(r"key `k\r\n\u{1b}[2J`"), "{out}");

    // The token's label in an error, and a searched label from the URI.
    let uri = "pkcs11:token=t%0a%1b%5d0%3bpwned%07;object=missing%0d%1b%5b2J";
    let line = one_clean_line(hsmjwt_softhsm(&hsm, &["pubkey", "--key", uri], Some(PIN)));
    assert!(line.contains(r"missing\r\u{1b}[2J"), "{line}");
    assert!(line.contains(r"t\n\u{1b}]0;pwned\u{7}"), "{line}");
    let uri = "pkcs11:token=nothing%0a%1b%5d0%3bx%07;object=k";
    let line = one_clean_line(hsmjwt_softhsm(&hsm, &["pubkey", "--key", uri], Some(PIN)));
    assert!(line.contains(r"nothing\n\u{1b}]0;x\u{7}"), "{line}");
}

/// A key file whose JWK `kty` (or PEM label) is forged.
#[test]
fn key_file_values_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.jwk");
    std::fs::write(
        &private,
        serde_json::json!({"kty": FORGED, "d": "AQAB", "n": "AQAB", "e": "AQAB"}).to_string(),
    )
    .unwrap();
    let public = dir.path().join("public.jwk");
    std::fs::write(
        &public,
        serde_json::json!({"kty": FORGED, "n": "AQAB", "e": "AQAB"}).to_string(),
    )
    .unwrap();
    let line = one_clean_line(hsmjwt(&["sign", "--key", p(&private)]));
    assert!(line.contains("key type") && line.contains(SHOWN), "{line}");
    let line = one_clean_line(hsmjwt(&["verify", "--key", p(&public), "a.b.c"]));
    assert!(line.contains("key type") && line.contains(SHOWN), "{line}");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": FORGED, "y": "AA"}]})
            .to_string(),
    )
    .unwrap();
    one_clean_line(hsmjwt(&["verify", "--jwks", p(&jwks), "a.b.c"]));
    let pem = dir.path().join("label.pem");
    std::fs::write(
        &pem,
        "-----BEGIN EVIL\u{1b}]0;pwned\u{7}-----\nAQAB\n-----END EVIL\u{1b}]0;pwned\u{7}-----\n",
    )
    .unwrap();
    one_clean_line(hsmjwt(&["sign", "--key", p(&pem)]));
}

/// A credentials file with a forged value: the error is one line, and so is each finding
/// of `credentials check`.
#[test]
fn credentials_values_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let aem = dir.path().join("aem.json");
    std::fs::write(
        &aem,
        serde_json::json!({"integration": {
            "imsEndpoint": FORGED,
            "metascopes": "ent_aem_cloud_api",
            "technicalAccount": {"clientId": "c", "clientSecret": "s"},
            "id": "T@techacct.adobe.com",
            "org": "O@AdobeOrg",
        }})
        .to_string(),
    )
    .unwrap();
    let line = one_clean_line(hsmjwt(&["ims", "jwt", "--credentials", p(&aem)]));
    assert!(
        line.contains("ims host") && line.contains(r"a\nerror: forged"),
        "{line}"
    );
    let line = one_clean_line(hsmjwt(&["credentials", "check", "--credentials", p(&aem)]));
    assert!(line.contains(r"a\nerror: forged"), "{line}");

    let console = dir.path().join("console.json");
    std::fs::write(
        &console,
        serde_json::json!({"project": {
            "name": "p",
            "org": {"ims_org_id": "O@AdobeOrg"},
            "workspace": {"details": {"credentials": [
                {"name": FORGED, "integration_type": FORGED},
                {"oauth_server_to_server": {
                    "client_id": "c", "client_secrets": ["s"], "scopes": ["openid"]
                }},
            ]}},
        }})
        .to_string(),
    )
    .unwrap();
    let out = hsmjwt(&["credentials", "check", "--credentials", p(&console)]).ok();
    assert!(unsafe_chars(&out).is_empty(), "{out:?}");
    assert!(
        out.contains(&format!("credential {SHOWN} of type {SHOWN}")),
        "{out}"
    );
    let out = hsmjwt_stdin(
        &[
            "credentials",
            "check",
            "--credentials",
            p(&console),
            "--json",
        ],
        None,
    )
    .ok();
    assert!(unsafe_chars(&out).is_empty(), "{out:?}");
    json(&out);
}
