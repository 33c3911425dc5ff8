//! `hsm import` and `hsm delete` as a user runs them: key files of every format and kind
//! into a SoftHSM2 token, the AEM credentials flow (import, the key-less file, the exchange
//! at the emulator), removing the source, and deleting keys; no output shows a PIN, the
//! client secret or the key.

use std::path::Path;

use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};

use crate::ims::{aem_json, emulator_for};
use crate::{Run, hsmjwt_with, json, openssl, p};

const TOKEN: &str = "cli-import";
/// The token's PIN, distinctive enough that no other output contains it by chance.
const PIN: &str = "pin-5821-import";
/// The AEM client secret.
const SECRET: &str = "client-secret-5821-import";

fn fixture() -> Option<SoftHsm> {
    let installation = softhsm::installed_or_skip()?;
    Some(
        Builder::new(installation)
            .token(TOKEN)
            .pin(PIN)
            .build()
            .unwrap(),
    )
}

/// Runs `hsmjwt` with the fixture's environment and `HSMJWT_PIN`; checks that no output
/// holds the PIN, the client secret or any of `secrets`.
fn run(hsm: &SoftHsm, args: &[&str], secrets: &[&str]) -> Run {
    let mut env: Vec<(&str, &str)> = hsm
        .env()
        .into_iter()
        .map(|(name, value)| (name, value.to_str().unwrap()))
        .collect();
    env.push(("HSMJWT_PIN", PIN));
    let run = hsmjwt_with(args, None, &env);
    let all = format!("{}{}", run.stdout(), run.stderr());
    for secret in [PIN, SECRET].iter().chain(secrets) {
        assert!(!all.contains(secret), "{args:?} printed `{secret}`:\n{all}");
    }
    run
}

fn uri(label: &str) -> String {
    format!("pkcs11:token={TOKEN};object={label}")
}

/// A line of the base64 body of a PEM private key: it must never be printed.
fn key_line(pem_file: &Path) -> String {
    std::fs::read_to_string(pem_file)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned()
}

/// `sign` with the HSM key, `verify` with the file it came from.
fn signs_as(hsm: &SoftHsm, label: &str, file: &Path) {
    let token = run(
        hsm,
        &[
            "sign",
            "--key",
            &uri(label),
            "--iss",
            "import",
            "--ttl",
            "60s",
        ],
        &[],
    )
    .ok();
    run(
        hsm,
        &["verify", "--key", p(file), "--iss", "import", token.trim()],
        &[],
    )
    .ok();
}

#[test]
fn key_files_of_every_format_import_and_sign_as_the_file() {
    let Some(hsm) = fixture() else { return };
    let dir = hsm.root();
    openssl(dir, &["genrsa", "-traditional", "-out", "rsa1.pem", "2048"]);
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "p256.pem",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-outform",
            "DER",
            "-out",
            "p521.der",
        ],
    );
    openssl(dir, &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"]);
    // RFC 8037 appendix A.1: a private JWK.
    std::fs::write(
        dir.join("ed.jwk"),
        r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    for (label, file, kind) in [
        ("rsa", "rsa1.pem", "RSA 2048"),
        ("p256", "p256.pem", "EC P-256"),
        ("p521", "p521.der", "EC P-521"),
        ("ed", "ed.pem", "Ed25519"),
        ("jwk", "ed.jwk", "Ed25519"),
    ] {
        let path = dir.join(file);
        let secret = if file.ends_with(".pem") {
            key_line(&path)
        } else {
            "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".to_owned()
        };
        let out = run(
            &hsm,
            &["hsm", "import", "--from", p(&path), "--key", &uri(label)],
            &[&secret],
        )
        .ok();
        assert!(
            out.starts_with(&format!(
                "imported {kind} into token `{TOKEN}` as `{label}`"
            )),
            "{out}"
        );
        assert!(out.contains("a probe signature verified"), "{out}");
        assert!(path.exists(), "the source is left alone");
        signs_as(&hsm, label, &path);
    }
    // `hsm list` shows them as imported, sensitive and not extractable.
    let list = json(&run(&hsm, &["hsm", "list", "--json"], &[]).ok());
    let keys = list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["token"]["keys"].as_array())
        .flatten()
        .filter(|k| k["class"] == "private")
        .collect::<Vec<_>>();
    assert_eq!(keys.len(), 5, "{list:#}");
    for k in keys {
        let protection = &k["protection"];
        assert_eq!(protection["local"], false, "{k:#}");
        assert_eq!(protection["sensitive"], true, "{k:#}");
        assert_eq!(protection["extractable"], false, "{k:#}");
    }
    // The same label again: one line, nothing changed.
    let line = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--from",
            p(&dir.join("ed.pem")),
            "--key",
            &uri("ed"),
        ],
        &[],
    )
    .fails();
    assert_eq!(
        line,
        format!("error: a key with label `ed` already exists on token `{TOKEN}`")
    );
}

#[test]
fn a_certificate_is_stored_beside_the_key_and_must_be_the_keys() {
    let Some(hsm) = fixture() else { return };
    let dir = hsm.root();
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "k.pem",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "k.pem",
            "-subj",
            "/CN=imported",
            "-days",
            "30",
            "-out",
            "k.crt",
        ],
    );
    let line = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--from",
            p(&dir.join("other.pem")),
            "--cert",
            p(&dir.join("k.crt")),
            "--key",
            &uri("mismatch"),
        ],
        &[],
    )
    .fails();
    assert_eq!(
        line,
        "error: the certificate `CN=imported` is not for the key being imported"
    );
    let out = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--from",
            p(&dir.join("k.pem")),
            "--cert",
            p(&dir.join("k.crt")),
            "--key",
            &format!("{};id=%2a", uri("with-cert")),
            "--json",
        ],
        &[],
    )
    .ok();
    let out = json(&out);
    assert_eq!(out["imported"]["certificate"], true, "{out:#}");
    assert_eq!(out["imported"]["id"], "2a");
    // The certificate object serves `pubkey` without a PIN, as the file's key.
    let from_cert = hsmjwt_with(
        &[
            "pubkey",
            "--key",
            &format!("pkcs11:token={TOKEN};id=%2a;type=cert"),
        ],
        None,
        &hsm.env().map(|(n, v)| (n, v.to_str().unwrap())),
    )
    .ok();
    let from_file = run(&hsm, &["pubkey", "--key", p(&dir.join("k.pem"))], &[]).ok();
    assert_eq!(from_cert, from_file);
    let list = run(&hsm, &["hsm", "list"], &[]).ok();
    assert!(
        list.contains("certificate `with-cert` id 2a: CN=imported"),
        "{list}"
    );
    assert!(
        !list.contains("mismatch"),
        "nothing of the refused import: {list}"
    );
}

#[test]
fn aem_credentials_import_then_exchange_with_the_keyless_file() {
    let Some(hsm) = fixture() else { return };
    let dir = hsm.root();
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "aem-key.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "aem-key.pem",
            "-subj",
            "/CN=aem",
            "-days",
            "365",
            "-out",
            "aem.crt",
        ],
    );
    let key_pem = std::fs::read_to_string(dir.join("aem-key.pem")).unwrap();
    let cert_pem = std::fs::read_to_string(dir.join("aem.crt")).unwrap();
    let source = dir.join("aem.json");
    let original = aem_json(Some(&key_pem), &cert_pem, SECRET);
    std::fs::write(&source, &original).unwrap();
    let keyless = dir.join("aem-hsm.json");
    let secret_line = key_line(&dir.join("aem-key.pem"));

    // --remove-source without --write-credentials would lose the file's other secrets.
    let line = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--credentials",
            p(&source),
            "--remove-source",
            "--key",
            &uri("aem"),
        ],
        &[&secret_line],
    )
    .fails();
    assert!(line.contains("needs --write-credentials"), "{line}");
    assert_eq!(std::fs::read_to_string(&source).unwrap(), original);

    let out = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--credentials",
            p(&source),
            "--write-credentials",
            p(&keyless),
            "--key",
            &format!("{};id=%a1", uri("aem")),
        ],
        &[&secret_line],
    )
    .ok();
    assert!(
        out.contains("private key, public key and certificate"),
        "{out}"
    );
    assert!(out.contains("without privateKey (mode 0600)"), "{out}");
    // The source is untouched; the new file has everything else, in order, and no key.
    assert_eq!(std::fs::read_to_string(&source).unwrap(), original);
    let written = std::fs::read_to_string(&keyless).unwrap();
    assert!(
        !written.contains("privateKey") && !written.contains("PRIVATE KEY"),
        "{written}"
    );
    let mut want: serde_json::Value = serde_json::from_str(&original).unwrap();
    want["integration"]
        .as_object_mut()
        .unwrap()
        .remove("privateKey");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&written).unwrap(),
        want
    );
    let order = |text: &str| -> Vec<usize> {
        [
            "imsEndpoint",
            "metascopes",
            "technicalAccount",
            "email",
            "\"id\"",
            "\"org\"",
            "publicKey",
            "certificateExpirationDate",
            "statusCode",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect()
    };
    assert!(order(&written).windows(2).all(|w| w[0] < w[1]), "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keyless).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The exchange with the key-less file and the HSM key, at the emulator that knows the
    // certificate.
    let emu = emulator_for(&[&keyless]);
    let token = run(
        &hsm,
        &[
            "ims",
            "jwt",
            "--credentials",
            p(&keyless),
            "--key",
            &uri("aem"),
            "--ims-url",
            &emu.base_url(),
        ],
        &[],
    )
    .ok();
    assert!(token.trim().starts_with("emu."), "{token}");

    // Again into another label, removing the source this time.
    let keyless2 = dir.join("aem-hsm-2.json");
    let out = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--credentials",
            p(&source),
            "--write-credentials",
            p(&keyless2),
            "--remove-source",
            "--key",
            &uri("aem-2"),
        ],
        &[&secret_line],
    )
    .ok();
    assert!(!source.exists(), "the source is removed");
    assert!(out.contains("overwrote and removed"), "{out}");
    assert!(out.contains("cannot be guaranteed"), "{out}");
    assert!(keyless2.exists());
    // A key-less file has nothing to import.
    let line = run(
        &hsm,
        &[
            "hsm",
            "import",
            "--credentials",
            p(&keyless),
            "--key",
            &uri("aem-3"),
        ],
        &[],
    )
    .fails();
    assert!(line.ends_with("the document has no `privateKey`"), "{line}");
}

#[test]
fn delete_asks_or_needs_yes_and_takes_the_keys_objects() {
    let Some(hsm) = fixture() else { return };
    let dir = hsm.root();
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            "k.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req", "-new", "-x509", "-key", "k.pem", "-subj", "/CN=old", "-days", "30", "-out",
            "k.crt",
        ],
    );
    run(
        &hsm,
        &[
            "hsm",
            "import",
            "--from",
            p(&dir.join("k.pem")),
            "--cert",
            p(&dir.join("k.crt")),
            "--key",
            &uri("old"),
        ],
        &[],
    )
    .ok();
    run(
        &hsm,
        &["keygen", "--alg", "ES256", "--key", &uri("keep")],
        &[],
    )
    .ok();

    // Not a terminal, no --yes: the objects are shown, nothing is deleted.
    let refused = run(&hsm, &["hsm", "delete", "--key", &uri("old")], &[]);
    let shown = refused.stderr();
    assert!(shown.contains("will delete from token"), "{shown}");
    for kind in ["private key `old`", "public key `old`", "certificate `old`"] {
        assert!(shown.contains(kind), "{shown}");
    }
    assert_eq!(refused.out.status.code(), Some(1));
    assert!(
        shown.contains("error: not deleting without --yes"),
        "{shown}"
    );
    signs_as(&hsm, "old", &dir.join("k.pem"));

    let line = run(
        &hsm,
        &[
            "hsm",
            "delete",
            "--key",
            &format!("pkcs11:token={TOKEN}"),
            "--yes",
        ],
        &[],
    )
    .fails();
    assert!(line.contains("add `object=` or `id=`"), "{line}");

    let out = run(
        &hsm,
        &["hsm", "delete", "--key", &uri("old"), "--yes", "--json"],
        &[],
    )
    .ok();
    let out = json(&out);
    assert_eq!(out["deleted"], true);
    assert_eq!(out["objects"].as_array().unwrap().len(), 3, "{out:#}");
    let list = run(&hsm, &["hsm", "list"], &[]).ok();
    assert!(!list.contains("`old`"), "{list}");
    assert!(
        list.contains("private key `keep`"),
        "the other key stays: {list}"
    );
    let line = run(&hsm, &["hsm", "delete", "--key", &uri("old"), "--yes"], &[]).fails();
    assert!(
        line.starts_with("error: no key matches label `old`"),
        "{line}"
    );
}

#[test]
fn the_readme_import_section_works() {
    use crate::certs::{bash, readme_block};
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation).token("hsmjwt").build().unwrap();
    let dir = hsm.root();
    // What the user has: AEM credentials with their key and certificate, a partner's key.
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "aem-key.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "aem-key.pem",
            "-subj",
            "/CN=aem",
            "-days",
            "365",
            "-out",
            "aem.crt",
        ],
    );
    let key_pem = std::fs::read_to_string(dir.join("aem-key.pem")).unwrap();
    let cert_pem = std::fs::read_to_string(dir.join("aem.crt")).unwrap();
    std::fs::write(
        dir.join("aem.json"),
        aem_json(Some(&key_pem), &cert_pem, SECRET),
    )
    .unwrap();
    std::fs::remove_file(dir.join("aem-key.pem")).unwrap();
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "partner.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "partner.pem",
            "-subj",
            "/CN=partner",
            "-days",
            "30",
            "-out",
            "partner.crt",
        ],
    );

    let out = bash(&hsm, &readme_block("### Importing a key"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"0"), "no privateKey in the new file: {out}");
    assert!(
        lines.iter().any(|l| l.starts_with("emu.")),
        "the exchange: {out}"
    );
    assert!(!out.contains(SECRET), "{out}");
    let listed = crate::hsmjwt_softhsm(&hsm, &["hsm", "list"], Some(softhsm::PIN)).ok();
    for want in [
        "private key `aem` id 0a",
        "certificate `aem` id 0a: CN=aem",
        "private key `partner`",
        "certificate `partner`",
    ] {
        assert!(listed.contains(want), "{want}: {listed}");
    }
}
