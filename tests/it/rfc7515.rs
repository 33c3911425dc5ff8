//! RFC 7515 appendix A.2 (RS256) and A.3 (ES256): the published tokens verify with the
//! published keys, and A.2's deterministic signature is reproduced byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt::core::{
    Algorithm, Error, Jwk, NumericDate, Signer as _, Validation, Verifier as _, b64, decode,
};
use hsmjwt::soft::{PrivateKey, PublicKey, SoftSigner, SoftVerifier};

/// `BASE64URL(UTF8({"alg":"RS256"}))` and the claims `{"iss":"joe",\r\n "exp":1300819380,\r\n
/// "http://example.com/is_root":true}`, as published in A.2.1.
const A2_SIGNING_INPUT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

/// The A.2 signature, base64url.
const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

/// The A.2 RSA key as a private JWK.
const A2_PRIVATE_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB",
 "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
 "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
 "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
 "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
 "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
 "qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"
}"#;

/// The A.2 key's public part.
const A2_PUBLIC_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB"
}"#;

/// The A.3 compact token (header `{"alg":"ES256"}`, the same claims as A.2).
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/// The A.3 P-256 key as a private JWK.
const A3_PRIVATE_JWK: &str = r#"{"kty":"EC",
 "crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
 "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
}"#;

/// The A.3 key's public part.
const A3_PUBLIC_JWK: &str = r#"{"kty":"EC",
 "crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
}"#;

/// `exp` of the example claims.
const EXP: i64 = 1_300_819_380;

fn a2_token() -> String {
    format!("{A2_SIGNING_INPUT}.{A2_SIGNATURE}")
}

/// A validation at a fixed time before the examples' `exp`.
fn before_exp() -> Validation {
    Validation::new().at(NumericDate::from_unix(EXP - 60))
}

#[test]
fn a2_published_token_verifies_with_the_published_key() {
    let jwk = Jwk::from_json(A2_PUBLIC_JWK.as_bytes()).unwrap();
    assert_eq!(jwk.params.bits(), 2048);
    let verifier = SoftVerifier::from_jwk(&jwk, None).unwrap();
    assert_eq!(verifier.algorithm(), Algorithm::RS256);

    let token = decode(&a2_token(), &verifier, &before_exp()).unwrap();
    assert_eq!(token.header.alg, Algorithm::RS256);
    assert_eq!(token.claims.iss.as_deref(), Some("joe"));
    assert_eq!(token.claims.exp, Some(NumericDate::from_unix(EXP)));

    // Also with allow_any_audience, and through a PublicKey.
    let public = PublicKey::from_jwk(&jwk).unwrap();
    let verifier = SoftVerifier::new(&public, Algorithm::RS256).unwrap();
    decode(&a2_token(), &verifier, &before_exp().with_any_audience()).unwrap();

    // The same token after its expiry is refused, and only for that reason.
    let late = Validation::new().at(NumericDate::from_unix(EXP + 3600));
    assert!(matches!(
        decode(&a2_token(), &verifier, &late),
        Err(Error::Expired { .. })
    ));
    // With another algorithm for the same key it is refused before any signature check.
    let ps = SoftVerifier::new(&public, Algorithm::PS256).unwrap();
    assert!(matches!(
        decode(&a2_token(), &ps, &before_exp()),
        Err(Error::AlgorithmMismatch { .. })
    ));
}

#[test]
fn a2_signature_is_reproduced_byte_for_byte() {
    let key = PrivateKey::from_jwk(A2_PRIVATE_JWK.as_bytes()).unwrap();
    assert_eq!(key.bits(), 2048);
    let public = Jwk::from_json(A2_PUBLIC_JWK.as_bytes()).unwrap();
    assert_eq!(key.public_jwk(), public);

    let signer = SoftSigner::new(key, Some(Algorithm::RS256)).unwrap();
    let signature = signer.sign(A2_SIGNING_INPUT.as_bytes()).unwrap();
    assert_eq!(b64::encode(&signature), A2_SIGNATURE);

    // The published signature verifies at the raw level too, and a changed input does not.
    let verifier = SoftVerifier::from_jwk(&public, Some(Algorithm::RS256)).unwrap();
    let published = b64::decode(A2_SIGNATURE.as_bytes()).unwrap();
    verifier
        .verify(A2_SIGNING_INPUT.as_bytes(), &published)
        .unwrap();
    let mut changed = A2_SIGNING_INPUT.as_bytes().to_vec();
    changed[10] ^= 1;
    assert!(matches!(
        verifier.verify(&changed, &published),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn a3_published_token_verifies_with_the_published_key() {
    let jwk = Jwk::from_json(A3_PUBLIC_JWK.as_bytes()).unwrap();
    let verifier = SoftVerifier::from_jwk(&jwk, None).unwrap();
    assert_eq!(verifier.algorithm(), Algorithm::ES256);
    let token = decode(A3_TOKEN, &verifier, &before_exp()).unwrap();
    assert_eq!(token.header.alg, Algorithm::ES256);
    assert_eq!(token.claims.iss.as_deref(), Some("joe"));

    // A flipped bit in r or in s is refused.
    let (input, sig) = A3_TOKEN.rsplit_once('.').unwrap();
    let sig = b64::decode(sig.as_bytes()).unwrap();
    assert_eq!(sig.len(), 64);
    for i in [0, 63] {
        let mut bad = sig.clone();
        bad[i] ^= 0x80;
        assert!(matches!(
            verifier.verify(input.as_bytes(), &bad),
            Err(Error::InvalidSignature)
        ));
    }
    // A DER-encoded (ASN.1) signature is not accepted: only raw r || s.
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend_from_slice(&sig[..32]);
    der.extend_from_slice(&[0x02, 0x20]);
    der.extend_from_slice(&sig[32..]);
    assert!(matches!(
        verifier.verify(input.as_bytes(), &der),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn a3_private_key_loads_and_signs_verifiable_tokens() {
    let key = PrivateKey::from_jwk(A3_PRIVATE_JWK.as_bytes()).unwrap();
    let public = Jwk::from_json(A3_PUBLIC_JWK.as_bytes()).unwrap();
    assert_eq!(key.public_jwk(), public);
    // ECDSA signatures are randomized: sign the A.3 input anew and check ours verifies.
    let (input, _) = A3_TOKEN.rsplit_once('.').unwrap();
    let signer = SoftSigner::new(key, None).unwrap();
    let sig = signer.sign(input.as_bytes()).unwrap();
    let verifier = SoftVerifier::from_jwk(&public, None).unwrap();
    verifier.verify(input.as_bytes(), &sig).unwrap();
    let token = format!("{input}.{}", b64::encode(&sig));
    decode(&token, &verifier, &before_exp()).unwrap();
}
