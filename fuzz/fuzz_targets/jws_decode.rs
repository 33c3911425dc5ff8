//! The compact JWS decoder without verification: `UnverifiedToken::parse` and its claims,
//! and `decode_insecure`, which must agree with each other.

#![no_main]

use hsmjwt_core::{UnverifiedToken, decode_insecure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let insecure = decode_insecure(token);
    match UnverifiedToken::parse(token, 64 * 1024) {
        Ok(unverified) => {
            assert!(token.starts_with(unverified.signing_input()));
            let claims = unverified.claims();
            match (&insecure, claims) {
                (Ok(t), Ok(c)) => {
                    assert_eq!(t.claims, c);
                    assert_eq!(t.header, unverified.header);
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("decode_insecure {a:?} but parse + claims {b:?}"),
            }
        }
        Err(e) => assert_eq!(
            format!("{:?}", insecure.map(drop)),
            format!("{:?}", Err::<(), _>(e))
        ),
    }
});
