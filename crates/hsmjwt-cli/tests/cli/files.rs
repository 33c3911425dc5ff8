//! Keys in files: every subcommand, as a user would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{hsmjwt, hsmjwt_stdin, json, p};

fn keygen(dir: &Path, alg: &str) -> PathBuf {
    let key = dir.join(format!("{alg}.pem"));
    hsmjwt(&["keygen", "--alg", alg, "--out", p(&key)]).ok();
    key
}

#[test]
fn help_teaches() {
    let out = hsmjwt(&["--help"]).ok();
    for cmd in ["keygen", "pubkey", "sign", "verify", "decode", "hsm"] {
        assert!(out.contains(cmd), "{out}");
    }
    let out = hsmjwt(&["sign", "--help"]).ok();
    assert!(out.contains("Examples"), "{out}");
}

#[test]
fn keygen_writes_0600_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "ES256");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let before = std::fs::read(&key).unwrap();
    let line = hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).fails();
    assert!(
        line.contains("--force") || line.contains("exists"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "key must be untouched"
    );
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key), "--force"]).ok();
    assert_ne!(std::fs::read(&key).unwrap(), before);
    // Bad combinations are refused by the parser.
    let run = hsmjwt(&[
        "keygen",
        "--alg",
        "ES256",
        "--bits",
        "1024",
        "--out",
        p(&key),
    ]);
    assert_eq!(run.out.status.code(), Some(2));
    hsmjwt(&[
        "keygen",
        "--alg",
        "ES256",
        "--bits",
        "2048",
        "--out",
        p(&dir.path().join("x.pem")),
    ])
    .fails();
}

#[test]
fn sign_and_verify_every_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = keygen(dir.path(), "RS256");
    let p256 = keygen(dir.path(), "ES256");
    let p384 = keygen(dir.path(), "ES384");
    let p521 = keygen(dir.path(), "ES512");
    let ed25519 = keygen(dir.path(), "EdDSA");
    for (alg, key) in [
        ("RS256", &rsa),
        ("RS384", &rsa),
        ("RS512", &rsa),
        ("PS256", &rsa),
        ("PS384", &rsa),
        ("PS512", &rsa),
        ("ES256", &p256),
        ("ES384", &p384),
        ("ES512", &p521),
        ("EdDSA", &ed25519),
    ] {
        let token = hsmjwt(&[
            "sign",
            "--key",
            p(key),
            "--alg",
            alg,
            "--iss",
            "me",
            "--aud",
            "you",
        ])
        .ok();
        let token = token.trim();
        let out = hsmjwt(&[
            "verify",
            "--key",
            p(key),
            "--alg",
            alg,
            "--iss",
            "me",
            "--aud",
            "you",
            token,
        ])
        .ok();
        let v = json(&out);
        assert_eq!(v["header"]["alg"], alg);
        assert_eq!(v["claims"]["iss"], "me");
        let iat = v["claims"]["iat"].as_i64().unwrap();
        assert_eq!(v["claims"]["exp"].as_i64().unwrap(), iat + 300);
    }
}

/// ES512 (P-521) and EdDSA (Ed25519) keys through every command: keygen (lower-case
/// names too), sign with the key's own algorithm, pubkey as PEM, JWK and JWKS, verify with
/// each, and bench.
#[test]
fn es512_and_eddsa_keys_through_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (alg, lower, kind, bits, kty, crv) in [
        ("ES512", "es512", "EC P-521", 521, "EC", "P-521"),
        ("EdDSA", "eddsa", "Ed25519", 256, "OKP", "Ed25519"),
    ] {
        let key = dir.path().join(format!("{lower}.pem"));
        let summary = json(&hsmjwt(&["keygen", "--alg", lower, "--out", p(&key), "--json"]).ok());
        assert_eq!(summary["alg"], alg);
        assert_eq!(summary["key"], kind);
        assert_eq!(summary["bits"], bits);
        // An RSA size does not apply.
        let line = hsmjwt(&[
            "keygen",
            "--alg",
            alg,
            "--bits",
            "2048",
            "--out",
            p(&dir.path().join("never.pem")),
        ])
        .fails();
        assert!(line.contains("RSA"), "{line}");

        let token = hsmjwt(&[
            "sign",
            "--key",
            p(&key),
            "--iss",
            "me",
            "--kid",
            "thumbprint",
        ])
        .ok();
        let token = token.trim();
        let decoded = json(&hsmjwt(&["decode", token]).ok());
        assert_eq!(decoded["header"]["alg"], alg);

        let public = export_public(&key, lower);
        let jwk = &public.jwk;
        assert_eq!((&jwk["kty"], &jwk["crv"]), (&kty.into(), &crv.into()));
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["kid"], decoded["header"]["kid"]);
        let (pem_path, jwk_path, jwks_path) = (&public.pem, &public.jwk_path, &public.jwks);

        // The algorithm follows the key: no --alg anywhere.
        for args in [
            vec!["verify", "--key", p(&key), "--iss", "me", token],
            vec!["verify", "--key", p(pem_path), token],
            vec!["verify", "--key", p(jwk_path), token],
            vec!["verify", "--jwks", p(jwks_path), token],
            vec!["verify", "--key", p(pem_path), "--alg", lower, token],
        ] {
            let v = json(&hsmjwt(&args).ok());
            assert_eq!(v["header"]["alg"], alg, "{args:?}");
        }
        // Another algorithm for this key is refused.
        let line = hsmjwt(&["sign", "--key", p(&key), "--alg", "ES256"]).fails();
        assert!(line.contains("ES256"), "{line}");

        let out = hsmjwt(&[
            "bench",
            "--key",
            p(&key),
            "--seconds",
            "0.3",
            "--threads",
            "1",
            "--json",
        ])
        .ok();
        let v = json(&out);
        assert_eq!(v["alg"], alg, "{out}");
        assert!(v["tokens"].as_u64().unwrap() > 0, "{out}");
    }
}

/// A key's public key written next to it by `pubkey` as PEM, JWK and JWKS (the JWK forms
/// with the thumbprint as `kid` and `alg`), each checked as it is made.
struct Exported {
    pem: PathBuf,
    jwk_path: PathBuf,
    jwks: PathBuf,
    jwk: serde_json::Value,
}

fn export_public(key: &Path, alg: &str) -> Exported {
    let pem = hsmjwt(&["pubkey", "--key", p(key)]).ok();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let pem_path = key.with_extension("pub.pem");
    std::fs::write(&pem_path, &pem).unwrap();
    let jwk_args = |format| {
        let args = [
            "pubkey",
            "--key",
            p(key),
            "--format",
            format,
            "--kid",
            "thumbprint",
            "--alg",
            alg,
        ];
        hsmjwt(&args).ok()
    };
    let jwk = json(&jwk_args("jwk"));
    assert_eq!(jwk["use"], "sig");
    assert!(jwk.get("d").is_none(), "no private member");
    let thumb = jwk["kid"].as_str().unwrap();
    assert_eq!(thumb.len(), 43);
    let jwk_path = key.with_extension("jwk");
    std::fs::write(&jwk_path, jwk.to_string()).unwrap();
    let jwks = jwk_args("jwks");
    assert_eq!(json(&jwks)["keys"][0], jwk);
    let jwks_path = key.with_extension("jwks");
    std::fs::write(&jwks_path, &jwks).unwrap();
    Exported {
        pem: pem_path,
        jwk_path,
        jwks: jwks_path,
        jwk,
    }
}

#[test]
fn pubkey_formats_and_verification_with_each() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "PS256");
    let public = export_public(&key, "PS256");
    assert_eq!(public.jwk["kty"], "RSA");
    assert_eq!(public.jwk["alg"], "PS256");
    let thumb = public.jwk["kid"].as_str().unwrap().to_owned();
    let (pem_path, jwk_path, jwks_path) = (public.pem, public.jwk_path, public.jwks);

    let token = hsmjwt(&[
        "sign",
        "--key",
        p(&key),
        "--alg",
        "PS256",
        "--kid",
        "thumbprint",
    ])
    .ok();
    let token = token.trim();
    let header = json(&hsmjwt(&["decode", token]).ok());
    assert_eq!(header["header"]["kid"], thumb.as_str());
    assert_eq!(header["verified"], false);

    hsmjwt(&["verify", "--key", p(&pem_path), "--alg", "PS256", token]).ok();
    // The JWK's alg pins the algorithm; no --alg needed.
    hsmjwt(&["verify", "--key", p(&jwk_path), token]).ok();
    hsmjwt(&["verify", "--jwks", p(&jwks_path), token]).ok();
    // Without --alg, an RSA PEM means RS256, so a PS256 token is refused.
    let line = hsmjwt(&["verify", "--key", p(&pem_path), token]).fails();
    assert!(line.contains("PS256") && line.contains("RS256"), "{line}");
}

#[test]
fn verify_with_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "ES256");
    let cert = dir.path().join("cert.pem");
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-key",
            p(&key),
            "-out",
            p(&cert),
            "-days",
            "30",
            "-subj",
            "/CN=hsmjwt-test",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    let token = hsmjwt(&["sign", "--key", p(&key)]).ok();
    hsmjwt(&["verify", "--cert", p(&cert), token.trim()]).ok();
}

#[test]
fn claims_from_json_file_and_stdin_with_headers_and_jti() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "ES256");
    let file = dir.path().join("claims.json");
    std::fs::write(
        &file,
        r#"{"scope":"read write","exp":4000000000,"iat":1700000000}"#,
    )
    .unwrap();
    let claims_arg = format!("@{}", p(&file));
    let token = hsmjwt(&[
        "sign",
        "--key",
        p(&key),
        "--claims",
        &claims_arg,
        "--jti",
        "auto",
        "--header",
        r#"typ="at+jwt""#,
        "--header",
        r#"x-custom={"a":1}"#,
    ])
    .ok();
    let v = json(&hsmjwt(&["decode", token.trim()]).ok());
    assert_eq!(v["claims"]["scope"], "read write");
    assert_eq!(v["claims"]["exp"], 4_000_000_000_i64, "explicit exp kept");
    assert_eq!(v["claims"]["iat"], 1_700_000_000_i64, "explicit iat kept");
    assert_eq!(v["claims"]["jti"].as_str().unwrap().len(), 36);
    assert_eq!(v["header"]["typ"], "at+jwt");
    assert_eq!(v["header"]["x-custom"]["a"], 1);

    let token = hsmjwt_stdin(
        &[
            "sign",
            "--key",
            p(&key),
            "--claims",
            "-",
            "--sub",
            "svc",
            "--ttl",
            "90s",
            "--now",
            "1700000000",
        ],
        Some(r#"{"role":"reader"}"#),
    )
    .ok();
    let v = json(&hsmjwt_stdin(&["decode"], Some(&token)).ok());
    assert_eq!(v["claims"]["role"], "reader");
    assert_eq!(v["claims"]["sub"], "svc");
    assert_eq!(v["claims"]["iat"], 1_700_000_000_i64);
    assert_eq!(v["claims"]["exp"], 1_700_000_090_i64);

    // Bad claim input is one clear error.
    let line = hsmjwt(&[
        "sign",
        "--key",
        p(&key),
        "--claims",
        r#"{"exp":"tomorrow"}"#,
    ])
    .fails();
    assert!(line.contains("exp"), "{line}");
    let line = hsmjwt(&["sign", "--key", p(&key), "--header", "typ=at+jwt"]).fails();
    assert!(line.contains("JSON"), "{line}");
    let line = hsmjwt(&["sign", "--key", p(&key), "--header", r#"alg="none""#]).fails();
    assert!(line.contains("none"), "{line}");
}

#[test]
fn verify_failures_are_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "ES256");
    let other = keygen(dir.path(), "ES384");
    let token = hsmjwt(&[
        "sign",
        "--key",
        p(&key),
        "--iss",
        "me",
        "--aud",
        "you",
        "--now",
        "1700000000",
        "--ttl",
        "10m",
    ])
    .ok();
    let token = token.trim().to_owned();
    let k = p(&key);
    let now_ok = "1700000100";
    hsmjwt(&[
        "verify", "--key", k, "--aud", "you", "--now", now_ok, &token,
    ])
    .ok();
    hsmjwt_stdin(
        &["verify", "--key", k, "--aud", "you", "--now", now_ok, "-"],
        Some(&format!("{token}\n")),
    )
    .ok();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--aud", "you"], "expired"),
        (vec!["--aud", "them", "--now", now_ok], "audience"),
        (vec!["--now", now_ok], "audience"),
        (
            vec!["--aud", "you", "--iss", "someone", "--now", now_ok],
            "issuer",
        ),
        (vec!["--aud", "you", "--sub", "x", "--now", now_ok], "sub"),
        (
            vec!["--aud", "you", "--now", "1699999000"],
            "issued in the future",
        ),
        (
            vec!["--aud", "you", "--now", now_ok, "--max-lifetime", "5m"],
            "lifetime",
        ),
        (
            vec!["--aud", "you", "--now", now_ok, "--require", "jti"],
            "jti",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["verify", "--key", k];
        args.extend(extra.iter().copied());
        args.push(&token);
        let line = hsmjwt(&args).fails();
        assert!(line.contains(expect), "{extra:?}: {line}");
    }
    let line = hsmjwt(&[
        "verify",
        "--key",
        p(&other),
        "--aud",
        "you",
        "--now",
        now_ok,
        &token,
    ])
    .fails();
    assert!(line.contains("ES256") && line.contains("ES384"), "{line}");
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    let line = hsmjwt(&[
        "verify", "--key", k, "--aud", "you", "--now", now_ok, &tampered,
    ])
    .fails();
    assert!(
        line.contains("signature invalid") || line.contains("base64url"),
        "{line}"
    );
    for garbage in ["garbage", "a.b.c", "..", "e30.e30.", "\u{1F600}.x.y"] {
        hsmjwt(&["verify", "--key", k, garbage]).fails();
    }
    for garbage in ["garbage", "a.b.c", "..", "\u{1F600}.x.y"] {
        hsmjwt(&["decode", garbage]).fails();
    }
    // A JWS without `alg` is shown, with the problem (`inspect::decode_shows_hostile_tokens`).
    let shown = json(&hsmjwt(&["decode", "e30.e30."]).ok());
    assert_eq!(
        shown["problems"],
        serde_json::json!(["header member `alg` is missing"])
    );
    hsmjwt_stdin(&["verify", "--key", k], Some("")).fails();
    let line = hsmjwt(&[
        "verify",
        "--key",
        p(&dir.path().join("missing.pem")),
        &token,
    ])
    .fails();
    assert!(line.contains("missing.pem"), "{line}");
    let line = hsmjwt(&["sign", "--key", p(&dir.path().join("missing.pem"))]).fails();
    assert!(line.contains("missing.pem"), "{line}");
}

#[test]
fn secrets_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "RS256");
    let pem = std::fs::read_to_string(&key).unwrap();
    let body: String = pem.lines().nth(5).unwrap().to_owned();
    for args in [
        vec!["pubkey", "--key", p(&key)],
        vec!["pubkey", "--key", p(&key), "--format", "jwk"],
        vec!["sign", "--key", p(&key), "-vvv"],
    ] {
        let run = hsmjwt(&args);
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(!all.contains(&body), "{args:?} printed key material");
        assert!(!all.contains("PRIVATE"), "{args:?}");
        run.ok();
    }
}
