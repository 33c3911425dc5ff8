//! Certificates and CSRs made by file and HSM keys, checked by the `openssl` binary; the
//! multi-key JWK Set of `pubkey`; and the README's sections on both, run as written.

use std::path::Path;
use std::process::{Command, Stdio};

use hsmjwt_testkit::softhsm::{self, Builder, Login, PIN, SoftHsm};

use crate::{Run, hsmjwt, hsmjwt_softhsm, json, openssl, p, readme};

/// The subject given to every certificate: a comma escaped as RFC 4514 says.
const SUBJECT: &str = r"CN=Acme\, Inc.,O=hsmjwt tests";

/// What openssl shows of the algorithm used to sign certificates made with `alg`.
fn openssl_signature_name(alg: &str) -> &'static str {
    match alg {
        "RS256" => "sha256WithRSAEncryption",
        "PS256" => "rsassaPss",
        "ES256" => "ecdsa-with-SHA256",
        "ES384" => "ecdsa-with-SHA384",
        "ES512" => "ecdsa-with-SHA512",
        "EdDSA" => "ED25519",
        other => panic!("no openssl name for {other}"),
    }
}

/// Makes a certificate and a CSR with `key` and `alg` in `dir`, through `run` (which adds
/// the HSM environment where needed), and checks them with openssl; then mints a token with
/// `sign --cert --x5t` and verifies it with `verify --cert`.
fn certificate_and_csr(run: &dyn Fn(&[&str]) -> Run, dir: &Path, key: &str, alg: &str) {
    let cert = dir.join(format!("{alg}-{}.crt", key.len()));
    let csr = dir.join(format!("{alg}-{}.csr", key.len()));
    // `cert KIND` with the key, the subject, a DNS name and --out, then `extra`.
    let make = |kind: &str, out: &Path, extra: &[&str]| {
        let mut args = vec![
            "cert",
            kind,
            "--key",
            key,
            "--alg",
            alg,
            "--subject",
            SUBJECT,
            "--san",
            "DNS:svc.example",
            "--out",
            p(out),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let made = make(
        "self-signed",
        &cert,
        &[
            "--days",
            "30",
            "--san",
            "IP:192.0.2.1",
            "--san",
            "URI:spiffe://example/svc",
            "--san",
            "email:ops@example.com",
        ],
    );
    assert!(made.stdout().is_empty(), "{}", made.stdout());
    made.ok();

    let text = openssl(dir, &["x509", "-in", p(&cert), "-noout", "-text"]);
    for want in [
        "Version: 3 (0x2)",
        openssl_signature_name(alg),
        "Subject: O = hsmjwt tests, CN = \"Acme, Inc.\"",
        "Issuer: O = hsmjwt tests, CN = \"Acme, Inc.\"",
        "X509v3 Basic Constraints: critical",
        "CA:FALSE",
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "TLS Web Client Authentication",
        "X509v3 Subject Key Identifier",
        "DNS:svc.example, IP Address:192.0.2.1, URI:spiffe://example/svc, email:ops@example.com",
    ] {
        assert!(text.contains(want), "{alg}: `{want}` missing from\n{text}");
    }
    if alg == "PS256" {
        assert!(
            text.contains("Hash Algorithm: sha256")
                && text.contains("Mask Algorithm: mgf1 with sha256")
                && text.contains("Salt Length: 0x20"),
            "{text}"
        );
    }
    assert!(!text.contains("Key Encipherment") && !text.contains("CA:TRUE"));
    openssl(dir, &["verify", "-CAfile", p(&cert), p(&cert)]);

    // Valid from 5 minutes ago for 30 days.
    let dates = openssl(
        dir,
        &[
            "x509",
            "-in",
            p(&cert),
            "-noout",
            "-checkend",
            "0",
            "-enddate",
        ],
    );
    assert!(dates.contains("will not expire"), "{dates}");
    openssl(
        dir,
        &["x509", "-in", p(&cert), "-noout", "-checkend", "2505600"],
    );
    let expires_after_30_days = Command::new("openssl")
        .args(["x509", "-in", p(&cert), "-noout", "-checkend", "2592600"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(
        !expires_after_30_days.success(),
        "valid for more than 30 days"
    );

    // The certified key is the key: same SubjectPublicKeyInfo.
    let spki = openssl(dir, &["x509", "-in", p(&cert), "-noout", "-pubkey"]);
    let pubkey = run(&["pubkey", "--key", key]).ok();
    assert_eq!(spki.trim(), pubkey.trim(), "{alg}");

    make("csr", &csr, &[]).ok();
    let req = openssl(dir, &["req", "-in", p(&csr), "-noout", "-verify", "-text"]);
    assert!(
        req.contains("Subject: O = hsmjwt tests, CN = \"Acme, Inc.\"")
            && req.contains("Requested Extensions")
            && req.contains("DNS:svc.example")
            && req.contains(openssl_signature_name(alg)),
        "{req}"
    );
    let req_spki = openssl(dir, &["req", "-in", p(&csr), "-noout", "-pubkey"]);
    assert_eq!(req_spki.trim(), pubkey.trim());

    // `cert show` gives the thumbprints openssl computes.
    let shown = json(&hsmjwt(&["cert", "show", "--cert", p(&cert), "--json"]).ok());
    let fingerprint = openssl(
        dir,
        &["x509", "-in", p(&cert), "-noout", "-fingerprint", "-sha1"],
    );
    assert_eq!(
        fingerprint.trim().trim_start_matches("sha1 Fingerprint="),
        shown["sha1_fingerprint"],
        "{fingerprint}"
    );
    let serial = openssl(dir, &["x509", "-in", p(&cert), "-noout", "-serial"]);
    assert_eq!(
        serial.trim().trim_start_matches("serial="),
        shown["serial"].as_str().unwrap().replace(':', "")
    );
    // 30 days from when it was made: 29 whole days left (within the 30 days before the
    // end that `sign` and `verify` warn about) a second later, 30 within the same second.
    let state = (
        shown["validity"].as_str().unwrap(),
        shown["days_left"].as_i64().unwrap(),
    );
    assert!(
        state == ("expires soon", 29) || state == ("valid", 30),
        "{shown}"
    );
    assert_eq!(
        shown["subject_alt_names"],
        serde_json::json!([
            "DNS:svc.example",
            "IP:192.0.2.1",
            "URI:spiffe://example/svc",
            "email:ops@example.com"
        ])
    );

    // A token naming the certificate by x5t#S256 and x5t verifies with the certificate.
    let token = run(&[
        "sign",
        "--key",
        key,
        "--alg",
        alg,
        "--cert",
        p(&cert),
        "--x5t",
        "--aud",
        "you",
    ])
    .ok();
    let verified = json(
        &hsmjwt(&[
            "verify",
            "--cert",
            p(&cert),
            "--alg",
            alg,
            "--aud",
            "you",
            token.trim(),
        ])
        .ok(),
    );
    assert_eq!(verified["header"]["x5t"], shown["x5t"]);
    assert_eq!(verified["header"]["x5t#S256"], shown["x5t#S256"]);
}

#[test]
fn certificates_and_csrs_of_file_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (keygen_alg, alg) in [
        ("RS256", "RS256"),
        ("RS256", "PS256"),
        ("ES256", "ES256"),
        ("ES384", "ES384"),
        ("ES512", "ES512"),
        ("EdDSA", "EdDSA"),
    ] {
        let key = dir.path().join(format!("{alg}.pem"));
        hsmjwt(&["keygen", "--alg", keygen_alg, "--out", p(&key)]).ok();
        certificate_and_csr(&|args| hsmjwt(args), dir.path(), p(&key), alg);
    }
}

const TOKEN: &str = "cert-test";

fn fixture() -> Option<SoftHsm> {
    let installation = softhsm::installed_or_skip()?;
    Some(
        Builder::new(installation)
            .token(TOKEN)
            .key(TOKEN, "tool-rsa", "0a", "rsa:2048")
            .build()
            .unwrap(),
    )
}

#[test]
fn certificates_and_csrs_of_hsm_keys_and_storing_them() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    let run = |args: &[&str]| hsmjwt_softhsm(f, args, Some(PIN));
    let uri = |object: &str| format!("pkcs11:token={TOKEN};object={object}");
    for (alg, object, id) in [
        ("ES256", "es256", "%01"),
        ("ES384", "es384", "%02"),
        ("PS256", "rsa", "%03"),
        ("ES512", "es512", "%04"),
        ("EdDSA", "ed25519", "%05"),
    ] {
        run(&[
            "keygen",
            "--alg",
            alg,
            "--key",
            &format!("{};id={id}", uri(object)),
        ])
        .ok();
        certificate_and_csr(&run, f.root(), &uri(object), alg);
    }
    // RS256 with the key pkcs11-tool made.
    certificate_and_csr(&run, f.root(), &uri("tool-rsa"), "RS256");

    // --store: a certificate object with the key's label and id, the same DER.
    let cert = f.root().join("stored.crt");
    let key = uri("es256");
    let store = |subject: &str, force: bool| {
        let mut args = vec![
            "cert",
            "self-signed",
            "--key",
            &key,
            "--subject",
            subject,
            "--store",
            "--out",
            p(&cert),
        ];
        if force {
            args.push("--force");
        }
        run(&args)
    };
    let stored = store("CN=first", false);
    assert!(
        stored
            .stderr()
            .contains("pkcs11:token=cert-test;object=es256;type=cert;id=%01"),
        "{}",
        stored.stderr()
    );
    stored.ok();
    let listed = run(&["hsm", "list"]).ok();
    assert!(
        listed.contains("certificate `es256` id 01: CN=first")
            && listed.contains("pkcs11:token=cert-test;object=es256;type=cert;id=%01"),
        "{listed}"
    );
    let listed = json(&run(&["hsm", "list", "--json"]).ok());
    let certificates = listed["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["token"]["label"] == TOKEN)
        .unwrap()["token"]["certificates"]
        .clone();
    assert_eq!(
        certificates,
        serde_json::json!([{
            "label": "es256",
            "id": "01",
            "subject": "CN=first",
            "uri": "pkcs11:token=cert-test;object=es256;type=cert;id=%01",
        }])
    );
    let read = |name: &str| {
        let out = f.root().join(name);
        f.pkcs11_tool(
            TOKEN,
            Login::No,
            &[
                "--read-object",
                "--type",
                "cert",
                "--id",
                "01",
                "-o",
                p(&out),
            ],
        )
        .unwrap();
        std::fs::read(out).unwrap()
    };
    let der = |path: &Path| {
        let out = f.root().join("expected.der");
        openssl(
            f.root(),
            &["x509", "-in", p(path), "-outform", "DER", "-out", p(&out)],
        );
        std::fs::read(out).unwrap()
    };
    assert_eq!(read("first.der"), der(&cert));

    // Again: refused (the file and the token keep the first), unless --force.
    let line = store("CN=second", false).fails();
    assert!(line.contains("already exists"), "{line}");
    let line = run(&[
        "cert",
        "self-signed",
        "--key",
        &key,
        "--subject",
        "CN=second",
        "--store",
        "--out",
        p(&f.root().join("other.crt")),
    ])
    .fails();
    assert!(
        line.contains("a certificate with id 01 already exists") && line.contains("--force"),
        "{line}"
    );
    assert!(!f.root().join("other.crt").exists());
    let replaced = store("CN=second", true);
    assert!(
        replaced.stderr().contains("replacing 1"),
        "{}",
        replaced.stderr()
    );
    replaced.ok();
    assert_eq!(read("second.der"), der(&cert));
    let listed = run(&["hsm", "list"]).ok();
    assert!(
        listed.contains("CN=second") && !listed.contains("CN=first"),
        "{listed}"
    );

    // --store is for HSM keys.
    let file_key = f.root().join("file.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&file_key)]).ok();
    let line = hsmjwt(&[
        "cert",
        "self-signed",
        "--key",
        p(&file_key),
        "--subject",
        "CN=x",
        "--store",
    ])
    .fails();
    assert!(line.contains("--store takes a pkcs11: key"), "{line}");
}

#[test]
fn bad_certificate_arguments_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let make = |extra: &[&str]| {
        let mut args = vec!["cert", "self-signed", "--key", p(&key)];
        args.extend_from_slice(extra);
        hsmjwt(&args)
    };
    for (extra, words) in [
        (
            &["--subject", "CN=a, O=b"][..],
            "invalid subject `CN=a, O=b`",
        ),
        (&["--subject", ""][..], "invalid subject"),
        (&["--subject", "/CN=a"][..], "RFC 4514"),
        (
            &["--subject", "CN=a", "--san", "svc.example"][..],
            "invalid subject alternative name `svc.example`",
        ),
        (&["--subject", "CN=a", "--san", "IP:1.2.3"][..], "IPv4"),
        (&["--subject", "CN=a", "--days", "0"][..], "1 to 36525 days"),
        (&["--subject", "CN=a", "--alg", "ES384"][..], "ES384"),
        (
            &["--subject", "CN=a\u{1b}]0;x, O=b"][..],
            "invalid subject `CN=a\\u{1b}]0;x, O=b`",
        ),
    ] {
        let line = make(extra).fails();
        assert!(line.contains(words), "{extra:?}: {line}");
    }
    // --out is not overwritten without --force.
    let out = dir.path().join("cert.pem");
    std::fs::write(&out, "keep").unwrap();
    let line = make(&["--subject", "CN=a", "--out", p(&out)]).fails();
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
    make(&["--subject", "CN=a", "--out", p(&out), "--force"]).ok();
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );

    let line = hsmjwt(&["cert", "show", "--cert", p(&key)]).fails();
    assert!(line.contains("certificate"), "{line}");
    // --x5t needs --cert.
    let run = hsmjwt(&["sign", "--key", p(&key), "--x5t"]);
    assert_eq!(run.out.status.code(), Some(2), "{}", run.stderr());
}

/// `cert show` of a certificate whose subject and names carry terminal escapes prints them
/// escaped.
#[test]
fn cert_show_cleans_what_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-key",
            p(&key),
            "-out",
            p(&cert),
            "-days",
            "3",
            "-subj",
            "/CN=evil\u{1b}]0;title\u{7}",
        ],
    );
    let text = hsmjwt(&["cert", "show", "--cert", p(&cert)]).ok();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("CN=evil\\u{1b}]0;title\\u{7}"), "{text}");
    assert!(
        text.contains("expires soon") || text.contains("days left"),
        "{text}"
    );
}

#[test]
fn several_keys_make_one_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = |alg: &str, name: &str| {
        let path = d.join(name);
        hsmjwt(&["keygen", "--alg", alg, "--out", p(&path)]).ok();
        path
    };
    let (a, b, c) = (
        key("ES256", "a.pem"),
        key("RS256", "b.pem"),
        key("ES384", "c.pem"),
    );
    let jwks = |args: &[&str]| {
        let mut all = vec!["pubkey", "--format", "jwks"];
        all.extend_from_slice(args);
        hsmjwt(&all)
    };
    // A set file contributes its keys, with their own kid; the others get the thumbprint.
    let set_a = d.join("a.json");
    std::fs::write(
        &set_a,
        jwks(&["--key", p(&a), "--kid", "current", "--alg", "ES256"]).ok(),
    )
    .unwrap();
    let both = json(
        &jwks(&[
            "--key",
            p(&set_a),
            "--key",
            p(&b),
            "--key",
            p(&c),
            "--kid",
            "thumbprint",
        ])
        .ok(),
    );
    let keys = both["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "{both}");
    assert_eq!(keys[0]["kid"], "current");
    assert_eq!(keys[0]["crv"], "P-256");
    let thumbprint = |path: &Path| {
        json(
            &hsmjwt(&[
                "pubkey",
                "--key",
                p(path),
                "--format",
                "jwk",
                "--kid",
                "thumbprint",
            ])
            .ok(),
        )["kid"]
            .clone()
    };
    assert_eq!(keys[1]["kid"], thumbprint(&b));
    assert_eq!(keys[1]["kty"], "RSA");
    assert_eq!(keys[2]["kid"], thumbprint(&c));
    assert!(keys.iter().all(|k| k["use"] == "sig"));

    // Tokens of every key verify with the set, chosen by kid.
    let set = d.join("both.json");
    std::fs::write(&set, both.to_string()).unwrap();
    for (path, kid) in [(&a, "current"), (&b, "thumbprint"), (&c, "thumbprint")] {
        let token = hsmjwt(&["sign", "--key", p(path), "--kid", kid, "--aud", "you"]).ok();
        hsmjwt(&["verify", "--jwks", p(&set), "--aud", "you", token.trim()]).ok();
    }

    // --alg applies to each key it is given for, and must fit each.
    let line = jwks(&["--key", p(&a), "--key", p(&b), "--alg", "ES256"]).fails();
    assert!(
        line.contains(&format!("the key {}", p(&b))) && line.contains("ES256"),
        "{line}"
    );
    let pinned = json(&jwks(&["--key", p(&set_a), "--key", p(&c), "--alg", "ES384"]).ok());
    assert_eq!(pinned["keys"][0]["alg"], "ES256", "{pinned}");
    assert_eq!(pinned["keys"][1]["alg"], "ES384");

    // Duplicate kids and duplicate keys are refused, naming them.
    let line = jwks(&["--key", p(&a), "--key", p(&b), "--kid", "same"]).fails();
    assert!(line.contains("two keys have kid `same`"), "{line}");
    let line = jwks(&["--key", p(&set_a), "--key", p(&a)]).fails();
    assert!(line.contains("the same key is given twice"), "{line}");
    let line = jwks(&["--key", p(&set_a), "--key", p(&a), "--kid", "current"]).fails();
    assert!(line.contains("two keys have kid `current`"), "{line}");
    // A set with keys this tool cannot read is not republished without them.
    let okp = d.join("okp.json");
    std::fs::write(
        &okp,
        r#"{"keys":[{"kty":"OKP","crv":"X448","x":"AA"},{"kty":"EC","crv":"P-256","x":"GXLS_o7y6BuxMPdJ4MbBltVv2rb5lyIEGCJc3A7j0cA","y":"z5E8BFE15t2ZQufgxKLiIzZvYzF1FyMmRdc0ItNZVYc"}]}"#,
    )
    .unwrap();
    let line = jwks(&["--key", p(&okp)]).fails();
    assert!(line.contains("1 of the 2 keys"), "{line}");
    // Several keys are for JWKS output only.
    let line = hsmjwt(&["pubkey", "--key", p(&a), "--key", p(&b)]).fails();
    assert!(line.contains("--format jwks"), "{line}");
}

/// The shell block that follows the README heading `heading`.
pub(crate) fn readme_block(heading: &str) -> String {
    let readme = readme();
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no `{heading}`"));
    let rest = &readme[start..];
    let open = rest.find("```sh\n").unwrap() + "```sh\n".len();
    let close = rest[open..].find("```").unwrap();
    rest[open..open + close].to_owned()
}

/// Runs `script` with bash (`-e`, `-u`, `pipefail`) in the fixture's folder, with the
/// fixture's environment, the PIN, and the built `hsmjwt` first on the PATH.
pub(crate) fn bash(f: &SoftHsm, script: &str) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_hsmjwt")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    f.apply_env(&mut cmd);
    let out = cmd
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(f.root())
        .env("PATH", path)
        .env("HSMJWT_PIN", PIN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}\nfailed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_readme_certificate_and_rollover_sections_work() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation).token("hsmjwt").build().unwrap();
    let f = &hsm;
    // The keys of the README's examples before these sections.
    bash(
        f,
        "hsmjwt keygen --alg ES256 --out key.pem\n\
         hsmjwt keygen --alg PS256 --key 'pkcs11:token=hsmjwt;object=signer;id=%01'",
    );

    let shown = bash(f, &readme_block("### Certificates and CSRs"));
    assert!(
        shown.contains("x5t#S256:") && shown.contains("SHA-1 fingerprint:"),
        "{shown}"
    );
    let cert = openssl(
        f.root(),
        &[
            "x509",
            "-in",
            "cert.pem",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
        ],
    );
    assert!(
        cert.contains("O = \"Example, Inc.\", CN = my-service") && cert.contains("DNS:svc.example"),
        "{cert}"
    );
    let listed = hsmjwt_softhsm(f, &["hsm", "list"], Some(PIN)).ok();
    assert!(
        listed.contains("certificate `signer` id 01: CN=signer"),
        "{listed}"
    );

    // A token of the old key, made before the rollover.
    let old = hsmjwt_softhsm(
        f,
        &[
            "sign",
            "--key",
            "pkcs11:token=hsmjwt;object=signer",
            "--alg",
            "PS256",
            "--kid",
            "thumbprint",
            "--aud",
            "you",
        ],
        Some(PIN),
    )
    .ok();
    bash(f, &readme_block("### Key rollover"));
    // Step 3 published the new key alone: the old key's tokens are refused.
    let set = json(&std::fs::read_to_string(f.root().join("jwks.json")).unwrap());
    assert_eq!(set["keys"].as_array().unwrap().len(), 1, "{set}");
    let line = hsmjwt(&[
        "verify",
        "--jwks",
        p(&f.root().join("jwks.json")),
        "--aud",
        "you",
        old.trim(),
    ])
    .fails();
    assert!(line.contains("kid"), "{line}");
    // Step 4 deleted the old key with its public key and certificate; the new one stays.
    let listed = hsmjwt_softhsm(f, &["hsm", "list"], Some(PIN)).ok();
    assert!(!listed.contains("`signer`"), "{listed}");
    assert!(listed.contains("private key `signer-2`"), "{listed}");
}
