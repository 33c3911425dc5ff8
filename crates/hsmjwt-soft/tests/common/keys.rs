//! Generated keys, one per kind, made once per test binary. Also used by the facade's
//! integration tests (`tests/it`), which include this file.

use std::sync::OnceLock;

use hsmjwt_soft::{KeySpec, PrivateKey};

/// A PKCS#8 PEM private key of the kind `spec` names (RSA, P-256, P-384, P-521 or Ed25519),
/// generated the first time it is asked for.
pub(crate) fn pem_for(spec: KeySpec) -> &'static str {
    static RSA: OnceLock<String> = OnceLock::new();
    static P256: OnceLock<String> = OnceLock::new();
    static P384: OnceLock<String> = OnceLock::new();
    static P521: OnceLock<String> = OnceLock::new();
    static ED25519: OnceLock<String> = OnceLock::new();
    let cell = match spec {
        KeySpec::Rsa(_) => &RSA,
        KeySpec::P256 => &P256,
        KeySpec::P384 => &P384,
        KeySpec::P521 => &P521,
        KeySpec::Ed25519 => &ED25519,
        _ => panic!("unexpected key spec {spec:?}"),
    };
    cell.get_or_init(|| {
        PrivateKey::generate(spec)
            .expect("generate")
            .to_pkcs8_pem()
            .expect("PKCS#8 PEM")
            .to_string()
    })
}
