//! Keys in a SoftHSM2 token, through `pkcs11:` URIs, as a user would use them.
//!
//! Each test makes its own token folder and configuration (`hsmjwt_testkit`'s SoftHSM2
//! fixture), removed when it ends. Without SoftHSM2 the tests print a skip line, unless
//! `CI` or `HSMJWT_REQUIRE_SOFTHSM=1` is set: then they fail.

use hsmjwt_testkit::softhsm::{self, Builder, Login, PIN, SoftHsm};

use crate::hsmjwt_softhsm as run;
use crate::{hsmjwt_with, json, p};

const TOKEN: &str = "cli-test";

/// A token of the test's own, with a key made by another tool (pkcs11-tool, OpenSC);
/// `None` (with a printed reason) when SoftHSM2 is missing and not required.
fn fixture() -> Option<SoftHsm> {
    let installation = softhsm::installed_or_skip()?;
    let hsm = Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "tool-rsa", "0a", "rsa:2048")
        .build()
        .unwrap();
    Some(hsm)
}

fn uri(object: &str) -> String {
    format!("pkcs11:token={TOKEN};object={object}")
}

/// Mints with the HSM key, verifies with its exported PEM and with the URI itself.
fn mint_and_verify(f: &SoftHsm, key: &str, alg: &str) {
    let token = run(
        f,
        &[
            "sign",
            "--key",
            key,
            "--alg",
            alg,
            "--iss",
            "hsm",
            "--aud",
            "you",
            "--kid",
            "thumbprint",
        ],
        Some(PIN),
    )
    .ok();
    let token = token.trim();
    let pem = run(f, &["pubkey", "--key", key], Some(PIN)).ok();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let pem_path = f.root().join(format!("pub-{}.pem", token.len()));
    std::fs::write(&pem_path, pem).unwrap();
    let out = run(
        f,
        &[
            "verify",
            "--key",
            p(&pem_path),
            "--alg",
            alg,
            "--iss",
            "hsm",
            "--aud",
            "you",
            token,
        ],
        None,
    )
    .ok();
    assert_eq!(json(&out)["header"]["alg"], alg);
    run(
        f,
        &["verify", "--key", key, "--alg", alg, "--aud", "you", token],
        Some(PIN),
    )
    .ok();
    let jwk = json(
        &run(
            f,
            &[
                "pubkey",
                "--key",
                key,
                "--format",
                "jwk",
                "--kid",
                "thumbprint",
            ],
            Some(PIN),
        )
        .ok(),
    );
    assert_eq!(json(&out)["header"]["kid"], jwk["kid"]);
}

#[test]
fn keygen_sign_pubkey_verify_with_hsm_keys() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    for (alg, object, id) in [
        ("ES256", "cli-es256", "%01"),
        ("PS256", "cli-rsa", "%02"),
        ("ES384", "cli-es384", "%03"),
        ("ES512", "cli-es512", "%04"),
        ("EdDSA", "cli-ed25519", "%05"),
    ] {
        let key = format!("{};id={id}", uri(object));
        // Lower-case names work as for the others.
        let lower = alg.to_ascii_lowercase();
        run(f, &["keygen", "--alg", &lower, "--key", &key], Some(PIN)).ok();
        mint_and_verify(f, &key, alg);
        // The same label again is refused, and nothing is overwritten.
        let line = run(f, &["keygen", "--alg", alg, "--key", &key], Some(PIN)).fails();
        assert!(line.contains("already exists"), "{line}");
    }
    // RS256 and PS512 on the key pkcs11-tool made.
    mint_and_verify(f, &uri("tool-rsa"), "RS256");
    mint_and_verify(f, &uri("tool-rsa"), "PS512");

    let list = run(f, &["hsm", "list", "--json"], Some(PIN)).ok();
    for label in [
        "cli-es256",
        "cli-rsa",
        "cli-es384",
        "cli-es512",
        "cli-ed25519",
        "tool-rsa",
    ] {
        assert!(list.contains(label), "{label} missing from {list}");
    }
    let text = run(f, &["hsm", "list"], Some(PIN)).ok();
    assert!(text.contains(TOKEN), "{text}");
    assert!(
        text.contains("EC_EDWARDS Ed25519, signs EdDSA") && text.contains("EC P-521, signs ES512"),
        "{text}"
    );

    // The JWK and JWKS of the new kinds, and the benchmark with them.
    for (object, kty, crv, alg) in [
        ("cli-es512", "EC", "P-521", "ES512"),
        ("cli-ed25519", "OKP", "Ed25519", "EdDSA"),
    ] {
        let jwks = json(
            &run(
                f,
                &["pubkey", "--key", &uri(object), "--format", "jwks"],
                Some(PIN),
            )
            .ok(),
        );
        let jwk = &jwks["keys"][0];
        assert_eq!((&jwk["kty"], &jwk["crv"]), (&kty.into(), &crv.into()));
        let out = run(
            f,
            &[
                "bench",
                "--key",
                &uri(object),
                "--seconds",
                "0.3",
                "--threads",
                "1",
                "--json",
            ],
            Some(PIN),
        )
        .ok();
        let v = json(&out);
        assert_eq!(v["alg"], alg, "{out}");
        assert!(v["tokens"].as_u64().unwrap() > 0, "{out}");
    }
}

/// Whether `secret` appears in `text` as a value of its own: random slot numbers in the
/// debug log may contain its digits.
fn shows(text: &str, secret: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == secret)
}

#[test]
fn shows_finds_values_not_digits_inside_numbers() {
    assert!(shows("pkcs11:token=x?pin-value=1234&a", "1234"));
    assert!(shows("pin 1234", "1234"));
    assert!(!shows("slot=1234567", "1234"));
}

#[test]
fn pin_from_a_file_and_never_printed() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    let pin_file = f.root().join("pin.txt");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let key = format!("{}?pin-source=file:{}", uri("tool-rsa"), p(&pin_file));
    let run_ = run(f, &["sign", "--key", &key, "-vv"], None);
    assert!(!shows(&run_.stderr(), PIN), "{}", run_.stderr());
    run_.ok();

    let wrong = format!("{}?pin-value=987654", uri("tool-rsa"));
    let out = run(f, &["sign", "--key", &wrong], None);
    assert!(
        !shows(&out.stderr(), "987654"),
        "the PIN leaked: {}",
        out.stderr()
    );
    let line = out.fails();
    assert!(line.contains("wrong PIN") && line.contains(TOKEN), "{line}");
}

#[test]
fn hsm_errors_are_one_clear_line() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    let line = run(f, &["sign", "--key", &uri("no-such-key")], Some(PIN)).fails();
    assert!(
        line.contains("no-such-key") && line.contains("hsmjwt hsm list"),
        "{line}"
    );
    let line = run(
        f,
        &["sign", "--key", "pkcs11:token=nope;object=x"],
        Some(PIN),
    )
    .fails();
    assert!(
        line.contains("nope") && line.contains("hsmjwt hsm list"),
        "{line}"
    );
    let line = run(f, &["sign", "--key", "pkcs11:token=a;bogus=1"], Some(PIN)).fails();
    assert!(line.contains("bogus"), "{line}");
    let line = run(f, &["sign", "--key", "pkcs11:id=%zz"], Some(PIN)).fails();
    assert!(line.contains("`id`"), "{line}");
    let line = run(f, &["sign", "--key", &uri("tool-rsa")], None).fails();
    assert!(line.contains("PIN"), "{line}");
    // The library says what is missing; the command adds how to give it here.
    assert!(
        line.contains("no PIN for token")
            && line.contains("pin-source=file:")
            && line.contains("HSMJWT_PIN")
            && line.contains("terminal"),
        "{line}"
    );
    let text = run(f, &["hsm", "list"], None).ok();
    assert!(
        text.contains("not logged in") && text.contains("set HSMJWT_PIN"),
        "{text}"
    );
    let line = run(
        f,
        &["sign", "--key", &uri("tool-rsa"), "--alg", "ES256"],
        Some(PIN),
    )
    .fails();
    assert!(line.contains("ES256"), "{line}");
    // No module at all.
    let out = hsmjwt_with(
        &["sign", "--key", &uri("tool-rsa")],
        None,
        &[("HSMJWT_PIN", PIN)],
    );
    let line = out.fails();
    assert!(line.contains("PKCS11_MODULE"), "{line}");
}

/// The keys `hsm list --json` shows on `token`.
fn listed_keys(list: &serde_json::Value, token: &str) -> Vec<serde_json::Value> {
    list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["token"]["label"] == token)
        .unwrap_or_else(|| panic!("{token} is listed: {list}"))["token"]["keys"]
        .as_array()
        .unwrap()
        .clone()
}

/// The listed key of `class` labelled `label`.
fn listed<'a>(keys: &'a [serde_json::Value], label: &str, class: &str) -> &'a serde_json::Value {
    keys.iter()
        .find(|k| k["label"] == label && k["class"] == class)
        .unwrap_or_else(|| panic!("{class} key {label} is listed: {keys:?}"))
}

#[test]
fn a_verifying_host_reads_the_public_half_without_a_pin() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    // An imported key whose public key object is gone, and its certificate (same id).
    let cert = f
        .import_key_with_certificate(TOKEN, "with-cert", "0c")
        .unwrap();
    f.pkcs11_tool(
        TOKEN,
        Login::User,
        &["--delete-object", "--type", "pubkey", "--id", "0c"],
    )
    .unwrap();

    // The URI `hsm list` prints for the public object; no PIN anywhere (the child runs
    // without HSMJWT_PIN, and its stdin is no terminal).
    let keys = listed_keys(&json(&run(f, &["hsm", "list", "--json"], None).ok()), TOKEN);
    let public_uri = listed(&keys, "tool-rsa", "public")["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(public_uri.contains("type=public"), "{public_uri}");
    let with_pin = run(f, &["pubkey", "--key", &uri("tool-rsa")], Some(PIN)).ok();
    assert_eq!(
        run(f, &["pubkey", "--key", &public_uri], None).ok(),
        with_pin
    );
    // A URI without a type falls back to the public object when no PIN is given.
    assert_eq!(
        run(f, &["pubkey", "--key", &uri("tool-rsa")], None).ok(),
        with_pin
    );
    // The private key itself needs the PIN, and nobody is asked.
    let private = format!("{};type=private", uri("tool-rsa"));
    let line = run(f, &["pubkey", "--key", &private], None).fails();
    assert!(line.contains("no PIN for token"), "{line}");

    // Signed by the HSM key (with the PIN), verified with the public object only.
    let token = run(
        f,
        &["sign", "--key", &uri("tool-rsa"), "--aud", "you"],
        Some(PIN),
    )
    .ok();
    let out = run(
        f,
        &["verify", "--key", &public_uri, "--aud", "you", token.trim()],
        None,
    )
    .ok();
    assert_eq!(json(&out)["header"]["alg"], "RS256");

    // Without a public key object, the certificate with the same id gives the key.
    let from_cert = hsmjwt_with(&["pubkey", "--key", p(&cert)], None, &[]).ok();
    for key in [
        format!("{};type=public;id=%0c", uri("with-cert")),
        format!("{};type=cert", uri("with-cert")),
        uri("with-cert"),
    ] {
        assert_eq!(
            run(f, &["pubkey", "--key", &key], None).ok(),
            from_cert,
            "{key}"
        );
    }
    let token = run(
        f,
        &["sign", "--key", &uri("with-cert"), "--aud", "you"],
        Some(PIN),
    )
    .ok();
    let public = format!("{};type=public", uri("with-cert"));
    run(
        f,
        &["verify", "--key", &public, "--aud", "you", token.trim()],
        None,
    )
    .ok();
}

#[test]
fn hsm_list_shows_how_private_keys_are_protected() {
    let Some(hsm) = fixture() else { return };
    let f = &hsm;
    f.import_key_with_certificate(TOKEN, "imported", "0d")
        .unwrap();
    let list = json(&run(f, &["hsm", "list", "--json"], Some(PIN)).ok());
    let keys = listed_keys(&list, TOKEN);
    assert_eq!(
        listed(&keys, "tool-rsa", "private")["protection"],
        serde_json::json!({
            "sensitive": true,
            "extractable": false,
            "always_sensitive": true,
            "never_extractable": true,
            "local": true,
            "always_authenticate": false,
        })
    );
    let imported = &listed(&keys, "imported", "private")["protection"];
    assert_eq!(imported["local"], false, "{imported}");
    assert_eq!(imported["always_sensitive"], false, "{imported}");
    assert_eq!(
        listed(&keys, "tool-rsa", "public")["protection"],
        serde_json::Value::Null
    );

    let text = run(f, &["hsm", "list"], Some(PIN)).ok();
    assert!(
        text.contains(
            "sensitive, not extractable, always sensitive, never extractable, generated in the token"
        ) && text.contains(", imported"),
        "{text}"
    );
}

#[test]
fn hsm_list_logs_in_with_hsmjwt_pin_as_its_help_says() {
    let help = hsmjwt_with(&["hsm", "list", "--help"], None, &[]).ok();
    assert!(help.contains("$HSMJWT_PIN"), "{help}");
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    // One token: $HSMJWT_PIN logs in to it.
    let Some(one) = fixture() else { return };
    let list = json(&run(&one, &["hsm", "list", "--json"], Some(PIN)).ok());
    let token = &list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["token"]["label"] == TOKEN)
        .unwrap()["token"];
    assert_eq!(token["logged_in"], true, "{token}");
    // Two tokens: only the one --token names (one PIN is never tried on several tokens).
    let two = Builder::new(installation)
        .tokens([TOKEN, "cli-other"])
        .key(TOKEN, "tool-rsa", "0a", "rsa:2048")
        .build()
        .unwrap();
    let all = json(&run(&two, &["hsm", "list", "--json"], Some(PIN)).ok());
    for slot in all["slots"].as_array().unwrap() {
        if slot["token"]["flags"]["initialized"] == true {
            assert_eq!(slot["token"]["logged_in"], false, "{slot}");
            assert!(
                slot["token"]["note"]
                    .as_str()
                    .unwrap()
                    .contains("HSMJWT_PIN"),
                "{slot}"
            );
        }
    }
    let named = format!("pkcs11:token={TOKEN}");
    let one_token = json(
        &run(
            &two,
            &["hsm", "list", "--token", &named, "--json"],
            Some(PIN),
        )
        .ok(),
    );
    let keys = listed_keys(&one_token, TOKEN);
    listed(&keys, "tool-rsa", "private");
}

/// `hsmjwt bench` through p11-kit's remoting while the server is killed (with the
/// connections it serves) and started again: the bench counts the failed signatures and
/// goes on, the module is initialized again once the server answers, signing resumes, and
/// the run ends normally (exit 0, `errors` in the JSON).
///
/// One thread: with two, p11-kit 0.24's client module was once seen (1 run in 12) to leave a
/// `C_Sign` waiting for ever on its own condition variable after the restart, with the
/// server up (a stack taken with gdb: `pthread_cond_wait` inside `p11-kit-client.so`). A run
/// that does not end in 30 s is killed and fails the test.
#[test]
fn bench_goes_on_across_a_p11_kit_server_restart() {
    use hsmjwt_testkit::p11kit::{self, ADDRESS_ENV, Server};
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let Some(client) = p11kit::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "restart-ec", "0f", "EC:prime256v1")
        .build()
        .unwrap();
    let server = Server::start(&hsm, TOKEN).unwrap();
    let bench = Command::new(env!("CARGO_BIN_EXE_hsmjwt"))
        .args([
            "bench",
            "--key",
            &uri("restart-ec"),
            "--threads",
            "1",
            "--seconds",
            "6",
            "--json",
        ])
        .env_remove("SOFTHSM2_CONF")
        .env("PKCS11_MODULE", &client)
        .env(ADDRESS_ENV, server.address())
        .env("HSMJWT_PIN", PIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let server = Server::start(&hsm, TOKEN).unwrap();
    let mut bench = bench;
    let waited = std::time::Instant::now();
    while bench.try_wait().unwrap().is_none() {
        if waited.elapsed() > Duration::from_secs(30) {
            let _ = bench.kill();
            let out = bench.wait_with_output().unwrap();
            panic!(
                "hsmjwt bench did not end: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = bench.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = json(&String::from_utf8_lossy(&out.stdout));
    println!("bench across the restart: {report}");
    assert!(
        report["errors"].as_u64().unwrap_or(0) >= 1,
        "{report}\n{stderr}"
    );
    assert!(
        report["tokens"].as_u64().unwrap_or(0) >= 1,
        "{report}\n{stderr}"
    );
    // The module came back (initialized again, logged in, key found) while the bench ran.
    assert!(
        stderr.contains("PKCS#11 module lost and initialized again; signing goes on"),
        "{stderr}"
    );
    drop(server);
}

/// Through p11-kit's remoting, which offers `CKM_RSA_PKCS_PSS` but not the hash-and-sign
/// PSS mechanisms nor `CKM_EDDSA`: PS256 signs (over a digest made here) and verifies, EdDSA
/// is one `error:` line naming the missing mechanism, and `hsm list` shows what the token
/// offers without cryptoki's complaints about mechanism numbers it cannot name.
#[test]
fn keys_behind_p11_kit_remoting() {
    use hsmjwt_testkit::p11kit::{self, ADDRESS_ENV, Server};
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let Some(client) = p11kit::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token(TOKEN)
        .key(TOKEN, "remote-rsa", "0b", "rsa:2048")
        .key(TOKEN, "remote-ed", "0c", "EC:edwards25519")
        .build()
        .unwrap();
    let server = Server::start(&hsm, TOKEN).unwrap();
    let address = server.address();
    let env = [
        ("PKCS11_MODULE", client.to_str().unwrap()),
        (ADDRESS_ENV, address.as_str()),
        ("HSMJWT_PIN", PIN),
    ];
    let remote = |args: &[&str]| hsmjwt_with(args, None, &env);
    let token = remote(&[
        "sign",
        "--key",
        &uri("remote-rsa"),
        "--alg",
        "PS256",
        "--aud",
        "you",
    ])
    .ok();
    // Verified by SoftHSM itself (no p11-kit in between), with the public key object.
    let local = run(
        &hsm,
        &[
            "verify",
            "--key",
            &format!("pkcs11:token={TOKEN};object=remote-rsa;type=public"),
            "--alg",
            "PS256",
            "--aud",
            "you",
            token.trim(),
        ],
        None,
    )
    .ok();
    assert_eq!(json(&local)["header"]["alg"], "PS256");
    let line = remote(&["sign", "--key", &uri("remote-ed"), "--aud", "you"]).fails();
    assert_eq!(
        line,
        format!("error: token `{TOKEN}` cannot sign EdDSA: it offers none of CKM_EDDSA")
    );
    let listed = remote(&["hsm", "list"]);
    assert!(listed.stderr().is_empty(), "{}", listed.stderr());
    let listed = listed.ok();
    assert!(listed.contains("CKM_RSA_PKCS_PSS"), "{listed}");
    assert!(!listed.contains("CKM_SHA256_RSA_PKCS_PSS"), "{listed}");
    assert!(listed.contains("PS256"), "{listed}");
    // The doctor says which mechanism each algorithm takes there, and what cannot work.
    let doctor = remote(&["hsm", "doctor", "--key", &uri("remote-rsa")]).ok();
    assert!(
        doctor.contains("ok   PS256: with CKM_RSA_PKCS_PSS: probe signed and verified in software"),
        "{doctor}"
    );
    let doctor = remote(&["hsm", "doctor", "--key", &uri("remote-ed")]);
    assert_eq!(doctor.out.status.code(), Some(1));
    let doctor = doctor.stdout();
    // Not offered is not a fault of the key (`n/a`), but a key the token can use with no
    // algorithm at all is.
    assert!(
        doctor.contains(
            "n/a  EdDSA: token `cli-test` cannot sign EdDSA: it offers none of CKM_EDDSA"
        ),
        "{doctor}"
    );
    assert!(
        doctor.contains(
            "FAIL algorithms: the token offers a mechanism for none of the key's algorithms"
        ),
        "{doctor}"
    );
    assert!(
        doctor.contains("fix: this token cannot sign EdDSA"),
        "{doctor}"
    );
    drop(server);
}

/// `hsm doctor`: every step of a healthy key, and the step that fails, with its fix.
#[test]
fn the_doctor_checks_a_key_step_by_step() {
    let Some(f) = fixture() else { return };
    let out = run(&f, &["hsm", "doctor", "--key", &uri("tool-rsa")], Some(PIN)).ok();
    for step in ["module", "token", "mechanisms", "key", "public key"] {
        assert!(out.contains(&format!("  ok   {step}: ")), "{step}: {out}");
    }
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        assert!(
            out.contains(&format!("  ok   {alg}: with CKM_")),
            "{alg}: {out}"
        );
    }
    assert!(!out.contains("FAIL"), "{out}");
    let report = json(
        &run(
            &f,
            &["hsm", "doctor", "--key", &uri("tool-rsa"), "--json"],
            Some(PIN),
        )
        .ok(),
    );
    assert_eq!(report["checks"].as_array().unwrap().len(), 11, "{report:#}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );

    let missing = run(
        &f,
        &["hsm", "doctor", "--key", &uri("no-such-key")],
        Some(PIN),
    );
    assert_eq!(missing.out.status.code(), Some(1));
    let shown = missing.stdout();
    assert!(
        shown.contains("FAIL key: no private key matches the URI"),
        "{shown}"
    );
    assert!(shown.contains("fix: `hsm list` shows the keys"), "{shown}");
    let no_pin = run(&f, &["hsm", "doctor", "--key", &uri("tool-rsa")], None);
    assert_eq!(no_pin.out.status.code(), Some(1));
    let shown = no_pin.stdout();
    assert!(
        shown.contains("FAIL token: `cli-test`: not logged in"),
        "{shown}"
    );
    assert!(shown.contains("HSMJWT_PIN"), "{shown}");
}

/// Keys with `CKA_ALWAYS_AUTHENTICATE` (the token wants the PIN for every signature, a
/// context-specific login after each `C_SignInit`): they sign with every algorithm of their
/// kind, through raw mechanisms (ES256: `CKM_ECDSA`) and hash-and-sign ones (RS256,
/// PS256), several times in one process (`bench`); `hsm list` marks them and `hsm doctor`
/// finds them healthy.
#[test]
fn a_key_that_wants_the_pin_for_every_signature_signs() {
    let Some(f) = fixture() else { return };
    for (label, id, key_type) in [
        ("always-auth", "0d", "EC:prime256v1"),
        ("always-auth-rsa", "0e", "rsa:2048"),
    ] {
        f.pkcs11_tool(
            TOKEN,
            Login::User,
            &[
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                label,
                "--id",
                id,
                "--always-auth",
            ],
        )
        .unwrap();
    }
    mint_and_verify(&f, &uri("always-auth"), "ES256");
    for alg in ["RS256", "PS256"] {
        mint_and_verify(&f, &uri("always-auth-rsa"), alg);
    }
    let listed = run(&f, &["hsm", "list"], Some(PIN)).ok();
    assert!(
        listed.contains("PIN wanted for every signature (CKA_ALWAYS_AUTHENTICATE)"),
        "{listed}"
    );
    let doctor = run(
        &f,
        &["hsm", "doctor", "--key", &uri("always-auth")],
        Some(PIN),
    )
    .ok();
    assert!(doctor.contains("ok   ES256: with CKM_ECDSA"), "{doctor}");
    // Many signatures in one process: a context-specific login before each.
    let bench = run(
        &f,
        &[
            "bench",
            "--key",
            &uri("always-auth"),
            "--seconds",
            "0.5",
            "--threads",
            "2",
            "--json",
        ],
        Some(PIN),
    );
    let all = format!("{}{}", bench.stdout(), bench.stderr());
    let report = json(&bench.ok());
    assert_eq!(report["errors"], 0, "{all}");
    assert!(report["tokens"].as_u64().unwrap_or(0) > 1, "{all}");
}
