//! The compact JWS decoder with verification: `decode_with_keys` against the RFC 7515
//! A.2 (RS256) and A.3 (ES256) and the RFC 8037 A.2 (EdDSA) public keys, and `decode`
//! with each, at a fixed time.

#![no_main]

use std::sync::OnceLock;

use hsmjwt_core::{Jwk, NumericDate, Validation, Verifier, decode, decode_with_keys};
use hsmjwt_soft::SoftVerifier;
use libfuzzer_sys::fuzz_target;

const A2_PUBLIC_JWK: &str = r#"{"kty":"RSA","kid":"a2","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#;
const A3_PUBLIC_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
const RFC8037_PUBLIC_JWK: &str =
    r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

fn keys() -> &'static [SoftVerifier] {
    static KEYS: OnceLock<Vec<SoftVerifier>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [A2_PUBLIC_JWK, A3_PUBLIC_JWK, RFC8037_PUBLIC_JWK]
            .iter()
            .map(|j| {
                let jwk = Jwk::from_json(j.as_bytes()).expect("test vector JWK");
                SoftVerifier::from_jwk(&jwk, None).expect("test vector key")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    // The RFC 7515 examples expire at 1300819380; validate just before.
    let validation = Validation::new()
        .with_any_audience()
        .at(NumericDate::from_unix(1_300_819_000));
    let keys = keys();
    let set = decode_with_keys(token, keys.iter().map(|k| k as &dyn Verifier), &validation);
    for key in keys {
        if let Ok(one) = decode(token, key, &validation) {
            // A token that verifies with one key of the set verifies with the set.
            assert!(set.is_ok(), "decode ok but decode_with_keys {set:?}");
            assert_eq!(set.as_ref().ok(), Some(&one));
        }
    }
});
