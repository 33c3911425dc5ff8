//! One PKCS#11 conformance suite, run against each module the project supports: SoftHSM2,
//! Kryoptic, tpm2-pkcs11 on swtpm, and p11-kit's remoting of SoftHSM2.
//!
//! Every test starts a token of its own (`hsmjwt_testkit::modules`: a temporary folder, and
//! the module's servers, stopped when the test ends, also on failure), then runs the built
//! `hsmjwt` binary as a user would, with the token's environment. The same test functions
//! run once per module; the module's tests are the module of this file with its name
//! (`softhsm::`, `kryoptic::`, `tpm2::`, `p11kit::`), so one module runs with
//!
//! ```text
//! cargo test -p hsmjwt-cli --test conformance -- kryoptic::
//! cargo test -p hsmjwt-cli --test conformance -- tpm2:: --test-threads 1
//! ```
//!
//! or `cargo xtask conformance kryoptic`, which sets the module up first (Kryoptic is built
//! from crates.io and found through `HSMJWT_KRYOPTIC_MODULE`; its default here is the
//! library `cargo xtask modules kryoptic` caches under `target/`).
//!
//! This target is not part of `cargo test --workspace` (`test = false`): a module that is
//! not set up fails its tests here, never skips, and `cargo xtask ci` runs each module on
//! purpose.
//!
//! What each module offers is written down per module (the families in its list), with the
//! reason for every algorithm it lacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hsmjwt_testkit::modules::{Kind, Setup, Token};
use hsmjwt_testkit::secrecy::ExposeSecret as _;
use hsmjwt_testkit::softhsm::Login;

/// The label of every test's token.
const TOKEN: &str = "conformance";

/// The environment variables of every module, cleared before a run so that only the
/// token's own apply.
const MODULE_VARS: [&str; 9] = [
    "HSMJWT_PIN",
    "PKCS11_MODULE",
    "SOFTHSM2_CONF",
    "KRYOPTIC_CONF",
    "TPM2_PKCS11_TCTI",
    "TPM2_PKCS11_STORE",
    "P11_KIT_SERVER_ADDRESS",
    "PKCS11SPY",
    "PKCS11SPY_OUTPUT",
];

/// A family of algorithms that share a key type.
#[derive(Clone, Copy, Debug)]
struct Family {
    /// The algorithms, the first one used for `keygen`.
    algs: &'static [&'static str],
    /// The key type in `pkcs11-tool`'s words.
    tool_key_type: &'static str,
    /// What `hsm list` says of such a key.
    listed_as: &'static str,
}

const RS: Family = Family {
    algs: &["RS256", "RS384", "RS512"],
    tool_key_type: "rsa:2048",
    listed_as: "RSA 2048 bits",
};
const PS: Family = Family {
    algs: &["PS256", "PS384", "PS512"],
    tool_key_type: "rsa:2048",
    listed_as: "RSA 2048 bits",
};
const ES256: Family = Family {
    algs: &["ES256"],
    tool_key_type: "EC:prime256v1",
    listed_as: "EC P-256",
};
const ES384: Family = Family {
    algs: &["ES384"],
    tool_key_type: "EC:secp384r1",
    listed_as: "EC P-384",
};
const ES512: Family = Family {
    algs: &["ES512"],
    tool_key_type: "EC:secp521r1",
    listed_as: "EC P-521",
};
const EDDSA: Family = Family {
    algs: &["EdDSA"],
    tool_key_type: "EC:edwards25519",
    listed_as: "EC_EDWARDS Ed25519",
};

/// Where `cargo xtask modules kryoptic` caches the library (`target/pkcs11-modules/`, named
/// by the release xtask builds, `KRYOPTIC_VERSION` in `xtask/src/modules.rs`).
fn cached_kryoptic() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/pkcs11-modules/kryoptic/libkryoptic_pkcs11-1.5.4.so")
}

/// A token of `kind`, or a failure naming what is missing.
fn start(kind: Kind) -> Token {
    let mut setup = Setup::detect(kind);
    if kind == Kind::Kryoptic && setup.module().is_none() {
        setup = Setup::with_module(kind, cached_kryoptic());
    }
    setup
        .start(TOKEN)
        .unwrap_or_else(|e| panic!("cannot set up a {kind} token: {e}"))
}

/// One run of the `hsmjwt` binary.
struct Run {
    out: Output,
}

impl Run {
    fn ok(self) -> String {
        assert!(
            self.out.status.success(),
            "expected success, got {:?}\nstderr: {}",
            self.out.status,
            self.stderr()
        );
        self.stdout()
    }

    /// Fails with exit status 1 and exactly one `error:` line; returns that line.
    fn fails(self) -> String {
        assert_eq!(
            self.out.status.code(),
            Some(1),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        let err = self.stderr();
        assert!(!err.contains("panicked"), "{err}");
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("error:") || l.starts_with("Error"))
            .collect();
        assert_eq!(lines.len(), 1, "one error line expected: {err}");
        assert!(lines[0].starts_with("error: "), "{err}");
        lines[0].to_owned()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

/// Runs `hsmjwt ARGS` with the token's environment, `HSMJWT_PIN` = `pin` when given, and
/// `extra` variables last.
fn hsmjwt(t: &Token, args: &[&str], pin: Option<&str>, extra: &[(&str, &Path)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsmjwt"));
    cmd.args(args);
    for var in MODULE_VARS {
        cmd.env_remove(var);
    }
    t.apply_env(&mut cmd);
    if let Some(pin) = pin {
        cmd.env("HSMJWT_PIN", pin);
    }
    for (name, value) in extra {
        cmd.env(name, value);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("spawn hsmjwt");
    Run { out }
}

/// `hsmjwt ARGS` with the token's user PIN.
fn run(t: &Token, args: &[&str]) -> Run {
    hsmjwt(t, args, Some(t.pin().expose_secret()), &[])
}

fn uri(object: &str) -> String {
    format!("pkcs11:token={TOKEN};object={object}")
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Signs with `key` and checks the token three ways: with the exported PEM public key,
/// with the key's URI, and that the `kid` is the exported JWK's thumbprint.
fn sign_and_verify(t: &Token, key: &str, alg: &str) {
    let token = run(
        t,
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
    )
    .ok();
    let token = token.trim();
    let pem = run(t, &["pubkey", "--key", key]).ok();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let pem_path = t.root().join(format!("{alg}-{}.pem", token.len()));
    std::fs::write(&pem_path, pem).unwrap();
    let pem_arg = pem_path.to_str().unwrap();
    let checked = hsmjwt(
        t,
        &[
            "verify", "--key", pem_arg, "--alg", alg, "--iss", "hsm", "--aud", "you", token,
        ],
        None,
        &[],
    )
    .ok();
    assert_eq!(json(&checked)["header"]["alg"], alg, "{checked}");
    run(
        t,
        &["verify", "--key", key, "--alg", alg, "--aud", "you", token],
    )
    .ok();
    let jwk = json(
        &run(
            t,
            &[
                "pubkey",
                "--key",
                key,
                "--format",
                "jwk",
                "--kid",
                "thumbprint",
            ],
        )
        .ok(),
    );
    assert_eq!(json(&checked)["header"]["kid"], jwk["kid"], "{checked}");
}

/// A key made by the module's own tooling (`pkcs11-tool`) signs every algorithm of its
/// family, and the signatures verify.
fn tool_key(kind: Kind, family: Family) {
    let t = start(kind);
    let label = format!("tool-{}", family.algs[0].to_ascii_lowercase());
    t.keypairgen(&label, "a1", family.tool_key_type)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    for alg in family.algs {
        sign_and_verify(&t, &uri(&label), alg);
    }
    t.close().unwrap();
}

/// `hsmjwt keygen` makes a key in the token that signs every algorithm of its family; the
/// same label again is refused and overwrites nothing.
fn keygen(kind: Kind, family: Family) {
    let t = start(kind);
    let label = format!("gen-{}", family.algs[0].to_ascii_lowercase());
    let key = format!("{};id=%0b", uri(&label));
    run(&t, &["keygen", "--alg", family.algs[0], "--key", &key]).ok();
    for alg in family.algs {
        sign_and_verify(&t, &key, alg);
    }
    let line = run(&t, &["keygen", "--alg", family.algs[0], "--key", &key]).fails();
    assert!(line.contains("already exists"), "{line}");
    // The key is still the one made first: it still signs.
    sign_and_verify(&t, &key, family.algs[0]);
    t.close().unwrap();
}

/// `hsm list` shows the token and each key with what it signs, in text and JSON.
fn hsm_list(kind: Kind, families: &[Family]) {
    let t = start(kind);
    for (i, family) in families.iter().enumerate() {
        let label = format!("list-{}", family.algs[0].to_ascii_lowercase());
        t.keypairgen(&label, &format!("c{i}"), family.tool_key_type)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let text = run(&t, &["hsm", "list"]).ok();
    assert!(text.contains(&format!("token `{TOKEN}`")), "{text}");
    for family in families {
        let label = format!("list-{}", family.algs[0].to_ascii_lowercase());
        let line = text
            .lines()
            .find(|l| l.contains(&format!("private key `{label}`")))
            .unwrap_or_else(|| panic!("{label} missing from:\n{text}"));
        assert!(line.contains(family.listed_as), "{line}");
        for alg in family.algs {
            assert!(line.contains(alg), "{alg} missing from: {line}");
        }
    }
    let listed = run(&t, &["hsm", "list", "--json"]).ok();
    let v = json(&listed);
    let all = v.to_string();
    for family in families {
        let label = format!("list-{}", family.algs[0].to_ascii_lowercase());
        assert!(all.contains(&label), "{label} missing from {listed}");
    }
    t.close().unwrap();
}

/// The PKCS#11 spy of OpenSC, which logs every call of a module it forwards to.
fn spy_module() -> PathBuf {
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [
        format!("{multiarch}/pkcs11-spy.so"),
        format!("{multiarch}/pkcs11/pkcs11-spy.so"),
        "/usr/lib/pkcs11-spy.so".to_owned(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("OpenSC's pkcs11-spy.so is installed with opensc")
}

/// A wrong PIN fails with one error line, after exactly one `C_Login` (never retried, so a
/// real HSM's retry counter moves by one); the right PIN works afterwards (the user is not
/// locked out).
///
/// The logins are counted twice: in `hsmjwt`'s own debug log, and by OpenSC's PKCS#11 spy
/// between `hsmjwt` and the module. The spy (OpenSC 0.23) logs the calls of PKCS#11 2.x
/// modules only: a 3.x module's interface (Kryoptic's) it hands out unwrapped, so there only
/// the debug log counts.
fn wrong_pin(kind: Kind) {
    let t = start(kind);
    t.keypairgen("pin-key", "d1", ES256.tool_key_type)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let spy = spy_module();
    let log = t.root().join("spy.log");
    let failed = hsmjwt(
        &t,
        &["sign", "--key", &uri("pin-key"), "--alg", "ES256", "-vv"],
        Some("98765"),
        &[
            ("PKCS11_MODULE", &spy),
            ("PKCS11SPY", t.module()),
            ("PKCS11SPY_OUTPUT", &log),
        ],
    );
    let debug = failed.stderr();
    assert!(!debug.contains("98765"), "the PIN is printed: {debug}");
    let attempts = debug
        .lines()
        .filter(|l| l.contains("logging in to PKCS#11 token"))
        .count();
    assert_eq!(attempts, 1, "login attempts in the debug log:\n{debug}");
    let line = failed.fails();
    assert!(line.contains("wrong PIN"), "{line}");
    let calls = std::fs::read_to_string(&log).unwrap();
    if kind != Kind::Kryoptic {
        let logins: Vec<&str> = calls
            .lines()
            .filter(|l| l.trim_end().ends_with(" C_Login"))
            .collect();
        assert_eq!(logins.len(), 1, "C_Login calls: {logins:?}\n{calls}");
        assert!(
            calls.contains("CKR_PIN_INCORRECT"),
            "the module did not say CKR_PIN_INCORRECT:\n{calls}"
        );
    }
    // Not locked: the right PIN works.
    sign_and_verify(&t, &uri("pin-key"), "ES256");
    t.close().unwrap();
}

/// A key that is not in the token is one error naming it, after a login.
fn key_not_found(kind: Kind) {
    let t = start(kind);
    t.keypairgen("present", "e1", ES256.tool_key_type)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let line = run(&t, &["sign", "--key", &uri("absent"), "--alg", "ES256"]).fails();
    assert!(
        line.contains("no private key") && line.contains("`absent`"),
        "{line}"
    );
    let line = run(&t, &["pubkey", "--key", &uri("absent")]).fails();
    assert!(line.contains("absent"), "{line}");
    // A token that does not exist is named too.
    let line = run(
        &t,
        &["sign", "--key", "pkcs11:token=elsewhere;object=present"],
    )
    .fails();
    assert!(line.contains("elsewhere"), "{line}");
    t.close().unwrap();
}

/// `hsm doctor` finds the key, its public half, and signs a probe with every algorithm of
/// `family` (verified in software); the algorithms of `not_offered` are shown as not
/// offered by the token (`n/a`), which leaves the diagnosis healthy (exit 0).
fn doctor(kind: Kind, family: Family, not_offered: &[&str]) {
    let t = start(kind);
    t.keypairgen("doctor-key", "f1", family.tool_key_type)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let out = run(&t, &["hsm", "doctor", "--key", &uri("doctor-key")]).ok();
    for step in ["module", "token", "mechanisms", "key", "public key"] {
        assert!(
            out.contains(&format!("ok   {step}: ")),
            "{step} missing from:\n{out}"
        );
    }
    for alg in family.algs {
        assert!(
            out.contains(&format!("ok   {alg}: with CKM_")),
            "{alg} missing from:\n{out}"
        );
    }
    for alg in not_offered {
        assert!(
            out.contains(&format!("n/a  {alg}: token `{TOKEN}` cannot sign {alg}")),
            "{alg} not shown as not offered:\n{out}"
        );
    }
    assert!(!out.contains("FAIL"), "{out}");
    t.close().unwrap();
}

/// A key with `CKA_ALWAYS_AUTHENTICATE`, made by `pkcs11-tool --always-auth`, signs every
/// algorithm of its family (a context-specific login after each `C_SignInit`).
fn always_auth(kind: Kind, family: Family) {
    let t = start(kind);
    t.pkcs11_tool(
        Login::User,
        &[
            "--keypairgen",
            "--key-type",
            family.tool_key_type,
            "--id",
            "a7",
            "--label",
            "always-auth",
            "--always-auth",
        ],
    )
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let listed = run(&t, &["hsm", "list"]).ok();
    assert!(listed.contains("CKA_ALWAYS_AUTHENTICATE"), "{listed}");
    for alg in family.algs {
        sign_and_verify(&t, &uri("always-auth"), alg);
    }
    t.close().unwrap();
}

/// A key with `CKA_ALWAYS_AUTHENTICATE` and an algorithm whose mechanism signs in one part
/// only, on a module whose function table `hsmjwt` cannot reach for that single `C_Sign`
/// (p11-kit's client gives each caller a table of its own): refused at open with one line
/// that says why and what works instead.
fn always_auth_refused(kind: Kind, family: Family) {
    let t = start(kind);
    t.pkcs11_tool(
        Login::User,
        &[
            "--keypairgen",
            "--key-type",
            family.tool_key_type,
            "--id",
            "a8",
            "--label",
            "always-auth",
            "--always-auth",
        ],
    )
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
    for alg in family.algs {
        let line = run(&t, &["sign", "--key", &uri("always-auth"), "--alg", alg]).fails();
        assert!(
            line.contains("CKA_ALWAYS_AUTHENTICATE")
                && line.contains("a function table of its own")
                && line.contains("hash-and-sign mechanism"),
            "{line}"
        );
    }
    t.close().unwrap();
}

/// An algorithm the token offers no mechanism for is refused before signing, naming the
/// mechanisms it would need, and `hsm list` does not claim it.
fn refused(kind: Kind, family: Family) {
    let t = start(kind);
    t.keypairgen("refused-key", "b1", family.tool_key_type)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    for alg in family.algs {
        let line = run(&t, &["sign", "--key", &uri("refused-key"), "--alg", alg]).fails();
        assert!(
            line.contains(&format!(
                "token `{TOKEN}` cannot sign {alg}: it offers none of CKM_"
            )),
            "{line}"
        );
    }
    let text = run(&t, &["hsm", "list"]).ok();
    let line = text
        .lines()
        .find(|l| l.contains("private key `refused-key`"))
        .unwrap_or_else(|| panic!("refused-key missing from:\n{text}"));
    for alg in family.algs {
        assert!(!line.contains(alg), "{alg} claimed: {line}");
    }
    t.close().unwrap();
}

/// The token was really served by its servers, which are gone once it is dropped.
fn servers_stop(kind: Kind) {
    let t = start(kind);
    let ids = t.server_ids();
    let expected = usize::from(matches!(kind, Kind::Tpm2 | Kind::P11Kit));
    assert_eq!(ids.len(), expected, "{ids:?}");
    for id in &ids {
        assert!(Path::new(&format!("/proc/{id}")).exists());
    }
    // The token answers (`--list-token-slots` through its module and environment).
    let slots = t.pkcs11_tool(Login::No, &["--list-token-slots"]).unwrap();
    assert!(String::from_utf8_lossy(&slots).contains(TOKEN));
    drop(t);
    for id in &ids {
        assert!(
            !Path::new(&format!("/proc/{id}")).exists(),
            "{id} still runs"
        );
    }
}

/// The suite, once per module: `name => function(arguments)`.
macro_rules! conformance {
    ($kind:expr; $( $(#[$attr:meta])* $name:ident => $f:ident ( $($arg:expr),* ); )*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                crate::$f($kind $(, $arg)*);
            }
        )*
    };
}

/// SoftHSM 2.6: every algorithm.
mod softhsm {
    use super::*;
    conformance!(Kind::SoftHsm;
        tool_key_rs => tool_key(RS);
        tool_key_ps => tool_key(PS);
        tool_key_es256 => tool_key(ES256);
        tool_key_es384 => tool_key(ES384);
        tool_key_es512 => tool_key(ES512);
        tool_key_eddsa => tool_key(EDDSA);
        keygen_rs => keygen(RS);
        keygen_ps => keygen(PS);
        keygen_es256 => keygen(ES256);
        keygen_es384 => keygen(ES384);
        keygen_es512 => keygen(ES512);
        keygen_eddsa => keygen(EDDSA);
        list => hsm_list(&[RS, ES256, ES384, ES512, EDDSA]);
        wrong_pin_is_tried_once => wrong_pin();
        missing_key => key_not_found();
        servers => servers_stop();
        doctor_rsa => doctor(RS, &[]);
        doctor_es256 => doctor(ES256, &[]);
        doctor_eddsa => doctor(EDDSA, &[]);
        always_auth_rs => always_auth(RS);
        always_auth_ps => always_auth(PS);
        always_auth_es256 => always_auth(ES256);
        always_auth_eddsa => always_auth(EDDSA);
    );
}

/// Kryoptic 1.5 built with `minimal` (Debian 12's OpenSSL 3.0): RSA and ECDSA on P-256,
/// P-384 and P-521; no EdDSA (Kryoptic's `eddsa` feature needs OpenSSL 3.2).
mod kryoptic {
    use super::*;
    conformance!(Kind::Kryoptic;
        tool_key_rs => tool_key(RS);
        tool_key_ps => tool_key(PS);
        tool_key_es256 => tool_key(ES256);
        tool_key_es384 => tool_key(ES384);
        tool_key_es512 => tool_key(ES512);
        keygen_rs => keygen(RS);
        keygen_ps => keygen(PS);
        keygen_es256 => keygen(ES256);
        keygen_es384 => keygen(ES384);
        keygen_es512 => keygen(ES512);
        list => hsm_list(&[RS, ES256, ES384, ES512]);
        wrong_pin_is_tried_once => wrong_pin();
        missing_key => key_not_found();
        servers => servers_stop();
        doctor_rsa => doctor(RS, &[]);
        doctor_es384 => doctor(ES384, &[]);
        always_auth_rs => always_auth(RS);
        always_auth_ps => always_auth(PS);
        always_auth_es256 => always_auth(ES256);
    );
}

/// tpm2-pkcs11 1.9 on swtpm: RSA 2048 with PKCS#1 v1.5 and ECDSA on P-256 and P-384. Keys
/// with `CKA_ALWAYS_AUTHENTICATE` are not in its suite: on a bare swtpm (no resource
/// manager) the module's context-specific login fails in `Esys_Load` with
/// `TPM_RC_OBJECT_MEMORY` (0x902) and answers `CKR_GENERAL_ERROR` (seen on the first
/// signature of a fresh token). Not
/// PS*: the module lists no RSA-PSS mechanism (neither `CKM_RSA_PKCS_PSS` nor a hash-and-sign
/// one), so PS* is refused before signing.
/// Not ES512: the module makes P-521 keys but cannot sign with them (`C_SignInit` fails
/// with `CKR_HOST_MEMORY` after "d2i_ASN1_OCTET_STRING: too long" on their `CKA_EC_POINT`).
/// Not EdDSA: TPM 2.0 has no Ed25519. Keys are made with `pkcs11-tool`: `tpm2_ptool`
/// drives the TPM without a resource manager and runs out of object contexts on swtpm.
mod tpm2 {
    use super::*;
    conformance!(Kind::Tpm2;
        tool_key_rs => tool_key(RS);
        ps_is_refused => refused(PS);
        tool_key_es256 => tool_key(ES256);
        tool_key_es384 => tool_key(ES384);
        keygen_rs => keygen(RS);
        keygen_es256 => keygen(ES256);
        keygen_es384 => keygen(ES384);
        list => hsm_list(&[RS, ES256, ES384]);
        wrong_pin_is_tried_once => wrong_pin();
        missing_key => key_not_found();
        servers => servers_stop();
        doctor_rsa => doctor(RS, &["PS256", "PS384", "PS512"]);
        doctor_es256 => doctor(ES256, &[]);
    );
}

/// p11-kit 0.24 remoting SoftHSM 2.6: RSA and ECDSA on P-256, P-384 and P-521. Keys with
/// `CKA_ALWAYS_AUTHENTICATE` sign RS* (hash-and-sign, in parts after the context-specific
/// login); ES* and PS* there take the raw single-part mechanisms, whose `C_Sign` after the
/// login hsmjwt cannot reach through p11-kit's client (a function table per caller), and are
/// refused with the reason. Not EdDSA:
/// p11-kit's RPC forwards neither `CKM_EC_EDWARDS_KEY_PAIR_GEN` nor `CKM_EDDSA`. PS* goes
/// through the raw `CKM_RSA_PKCS_PSS` over a host digest: p11-kit forwards no parameters of
/// the `CKM_SHA*_RSA_PKCS_PSS` mechanisms.
mod p11kit {
    use super::*;
    conformance!(Kind::P11Kit;
        tool_key_rs => tool_key(RS);
        tool_key_ps => tool_key(PS);
        tool_key_es256 => tool_key(ES256);
        tool_key_es384 => tool_key(ES384);
        tool_key_es512 => tool_key(ES512);
        keygen_rs => keygen(RS);
        keygen_ps => keygen(PS);
        keygen_es256 => keygen(ES256);
        keygen_es384 => keygen(ES384);
        keygen_es512 => keygen(ES512);
        list => hsm_list(&[RS, ES256, ES384, ES512]);
        wrong_pin_is_tried_once => wrong_pin();
        missing_key => key_not_found();
        servers => servers_stop();
        doctor_rsa => doctor(RS, &[]);
        doctor_es512 => doctor(ES512, &[]);
        always_auth_rs => always_auth(RS);
        always_auth_ps_refused => always_auth_refused(PS);
        always_auth_es256_refused => always_auth_refused(ES256);
    );
}
