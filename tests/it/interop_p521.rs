//! ES512 checked by a second, independent implementation. jsonwebtoken has no ES512, so the
//! tokens go to RustCrypto's `p521` (pure Rust; no code shared with aws-lc-rs, which signs
//! here and descends from BoringSSL and OpenSSL). It is used to verify only, with public
//! keys only: taken from our SubjectPublicKeyInfo and from our JWK's `x` and `y`. (The
//! tokens of SoftHSM keys go to it in the hsmjwt-pkcs11 SoftHSM suite.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hsmjwt::core::{Algorithm, Claims, Header, NumericDate, PublicKeyParams, b64, encode};
use hsmjwt::soft::{KeySpec, PrivateKey, PublicKey, SoftSigner};
use p521::ecdsa::signature::Verifier as _;
use p521::ecdsa::{Signature, VerifyingKey};
use p521::pkcs8::DecodePublicKey as _;

use crate::keys;

/// The two ways `p521` gets our public key: our SPKI DER, and the JWK's coordinates.
fn p521_keys(public: &PublicKey) -> [VerifyingKey; 2] {
    let from_spki = p521::PublicKey::from_public_key_der(&public.to_spki_der())
        .expect("p521 reads our SubjectPublicKeyInfo");
    let PublicKeyParams::Ec { x, y, .. } = public.params() else {
        panic!("a P-521 key");
    };
    let (x, y) = (x.clone(), y.clone());
    assert_eq!((x.len(), y.len()), (66, 66));
    let point = [&[4u8][..], &x, &y].concat();
    [
        VerifyingKey::from_affine(*from_spki.as_affine()).unwrap(),
        VerifyingKey::from_sec1_bytes(&point).expect("p521 reads the JWK's point"),
    ]
}

fn es512_token(signer: &SoftSigner) -> String {
    let claims = Claims::new()
        .with_issuer("https://issuer.example")
        .with_audience("https://api.example")
        .with_expiry(NumericDate::from_unix(4_000_000_000));
    encode(&Header::jwt(Algorithm::ES512), &claims, signer).unwrap()
}

#[test]
fn es512_tokens_made_here_verify_with_p521() {
    // The shared test key, and fresh ones (r and s of every length show up over a few).
    let mut keys = vec![PrivateKey::from_pem(keys::pem_for(KeySpec::P521)).unwrap()];
    keys.extend((0..3).map(|_| PrivateKey::generate(KeySpec::P521).unwrap()));
    for key in keys {
        let public = key.public_key().clone();
        let signer = SoftSigner::new(key, None).unwrap();
        for _ in 0..4 {
            let token = es512_token(&signer);
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig = b64::decode(sig.as_bytes()).unwrap();
            assert_eq!(sig.len(), 132, "r || s, 66 bytes each");
            let signature = Signature::from_slice(&sig).expect("132-byte r || s");
            for vk in p521_keys(&public) {
                vk.verify(input.as_bytes(), &signature)
                    .unwrap_or_else(|e| panic!("p521 rejects our ES512 token: {e}"));
                // A changed signing input fails there too.
                let other = format!("{input}x");
                assert!(vk.verify(other.as_bytes(), &signature).is_err());
            }
            // The DER form of the same signature is what an X.509 signature would carry;
            // r || s is the JWS form. They are not interchangeable.
            let der = signature.to_der();
            assert_ne!(der.as_bytes(), sig.as_slice());
            assert!(Signature::from_der(der.as_bytes()).is_ok_and(|s| s == signature));
        }
    }
}
