//! The tokens and keys this suite wants, on `hsmjwt_testkit`'s SoftHSM2 fixture.
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at `C_Initialize`, and a process has one context per
//! module, so the first test to ask for the fixture makes the tokens and the `pkcs11-tool`
//! keys, then runs this test binary again with the same arguments in their environment
//! (stdin closed, no `HSMJWT_PIN`: no PIN from anywhere but the URIs) and exits with its
//! status, after removing the token folder. The child makes the library's own keys once and
//! runs the tests.

use std::path::PathBuf;
use std::sync::OnceLock;

use hsmjwt_core::Algorithm;
use hsmjwt_pkcs11::Pkcs11Uri;
use hsmjwt_testkit::softhsm::{self, Builder, Login, Rerun, SoftHsm};

pub(crate) use hsmjwt_testkit::softhsm::PIN;

/// The token most tests use; several tests log into it at once.
pub(crate) const MAIN: &str = "hsmjwt-main";
/// A token only the wrong-PIN and no-PIN tests touch: nobody logs into it.
pub(crate) const NO_LOGIN: &str = "hsmjwt-nologin";
/// A token only the session-recovery test touches: it logs the application out.
pub(crate) const RECOVER: &str = "hsmjwt-recover";
/// A token only the closed-sessions test touches: it closes every session on its slot.
pub(crate) const CLOSE_ALL: &str = "hsmjwt-closeall";
/// A token only the churn test touches: it generates keys there while other threads open,
/// list and sign.
pub(crate) const CHURN: &str = "hsmjwt-churn";
/// A token only `pkcs11-tool` logs in to, again and again, in the other-process test.
pub(crate) const BUSY: &str = "hsmjwt-busy";
/// A token this process never logs in to: the public halves are read there without a PIN.
pub(crate) const PUBLIC: &str = "hsmjwt-public";
/// On [`PUBLIC`]: a key pair made by `pkcs11-tool` (label, id).
pub(crate) const PUBLIC_PAIR: (&str, &str) = ("public-p256", "0d");
/// On [`PUBLIC`]: an imported key with its certificate and no public key object (label,
/// id); the certificate file is [`Fixture::imported_certificate`].
pub(crate) const IMPORTED: (&str, &str) = ("imported-rsa", "0c");

/// Keys made by `pkcs11-tool` on the main token: (label, id, key type).
/// (`pkcs11-tool` stores `CKA_EC_PARAMS` of the Ed25519 key as the PrintableString
/// `edwards25519`; `generate_key_pair` uses the `id-Ed25519` OID: both forms are read.)
pub(crate) const TOOL_KEYS: [(&str, &str, &str); 5] = [
    ("tool-rsa", "01", "rsa:2048"),
    ("tool-p256", "02", "EC:prime256v1"),
    ("tool-p384", "03", "EC:secp384r1"),
    ("tool-p521", "04", "EC:secp521r1"),
    ("tool-ed25519", "05", "EC:edwards25519"),
];

/// One P-256 key made by `pkcs11-tool` on each of the single-test tokens: (token, label, id).
const SINGLE_TEST_KEYS: [(&str, &str, &str); 3] = [
    (NO_LOGIN, "nologin-p256", "09"),
    (RECOVER, "recover-p256", "0a"),
    (CLOSE_ALL, "closeall-p256", "0b"),
];

/// Keys made by `generate_key_pair` on the main token: (label, algorithm).
pub(crate) const LIB_KEYS: [(&str, Algorithm); 5] = [
    ("lib-rsa", Algorithm::PS256),
    ("lib-p256", Algorithm::ES256),
    ("lib-p384", Algorithm::ES384),
    ("lib-p521", Algorithm::ES512),
    ("lib-ed25519", Algorithm::EdDSA),
];

pub(crate) struct Fixture {
    pub(crate) module: PathBuf,
    /// The certificate of the [`IMPORTED`] key (PEM).
    pub(crate) imported_certificate: PathBuf,
    hsm: SoftHsm,
}

impl Fixture {
    /// A URI for `object` on `token`, with the module and the PIN.
    pub(crate) fn uri(&self, token: &str, object: &str) -> Pkcs11Uri {
        self.uri_with_pin(token, object, PIN)
    }

    pub(crate) fn uri_with_pin(&self, token: &str, object: &str, pin: &str) -> Pkcs11Uri {
        Pkcs11Uri::new()
            .with_token(token)
            .with_object(object)
            .with_module_path(&self.module)
            .with_pin_value(pin.into())
    }

    /// Runs `pkcs11-tool` on a token, logged in; returns stdout.
    pub(crate) fn pkcs11_tool(&self, token: &str, args: &[&str]) -> Vec<u8> {
        self.hsm
            .pkcs11_tool(token, Login::User, args)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `pkcs11-tool` on a token without logging in, to read public objects while other
    /// tests run; returns stdout, or the failure with stderr. (SoftHSM rewrites a token's
    /// file at every login, and a look-up by another process in that instant fails.)
    pub(crate) fn read_with_pkcs11_tool(
        &self,
        token: &str,
        args: &[&str],
    ) -> Result<Vec<u8>, String> {
        self.hsm
            .pkcs11_tool(token, Login::No, args)
            .map_err(|e| e.to_string())
    }
}

/// The fixture, or `None` (after a skip message) when SoftHSM2 is not installed and not
/// required.
pub(crate) fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(init).as_ref()
}

fn init() -> Option<Fixture> {
    let mut spec = Builder::new(softhsm::installed_or_skip()?)
        .temp_in(env!("CARGO_TARGET_TMPDIR"))
        .prefix("hsmjwt-pkcs11-softhsm-")
        .tokens([MAIN, NO_LOGIN, RECOVER, CLOSE_ALL, CHURN, BUSY, PUBLIC])
        .key(PUBLIC, PUBLIC_PAIR.0, PUBLIC_PAIR.1, "EC:prime256v1");
    for (label, id, key_type) in TOOL_KEYS {
        spec = spec.key(MAIN, label, id, key_type);
    }
    for (token, label, id) in SINGLE_TEST_KEYS {
        spec = spec.key(token, label, id, "EC:prime256v1");
    }
    // The parent never returns from here.
    let hsm = spec
        .build_in_child(&Rerun::same_args().env_remove("HSMJWT_PIN"))
        .expect("the SoftHSM2 fixture");
    // A key whose public key object is gone, with its certificate (same id).
    let (label, id) = IMPORTED;
    let imported_certificate = hsm
        .import_key_with_certificate(PUBLIC, label, id)
        .expect("import a key with its certificate");
    hsm.pkcs11_tool(
        PUBLIC,
        Login::User,
        &["--delete-object", "--type", "pubkey", "--id", id],
    )
    .expect("delete the public key object");
    let fixture = Fixture {
        module: hsm.module().to_owned(),
        imported_certificate,
        hsm,
    };
    // The library's own key generation, into the same token.
    for (label, alg) in LIB_KEYS {
        fixture
            .hsm
            .generate_key(MAIN, label, |_| {
                hsmjwt_pkcs11::generate_key_pair(&fixture.uri(MAIN, label), alg, None)
            })
            .expect("generate_key_pair");
    }
    Some(fixture)
}
