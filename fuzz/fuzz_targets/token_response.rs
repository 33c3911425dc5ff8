//! Token endpoint responses (`hsmjwt_oauth::parse_token_response`), with `expires_in` in
//! milliseconds (Adobe `/ims/exchange/jwt`) and in seconds (RFC 6749), in every form that is
//! accepted (absent, an integer, `3600.0`, `"3600"`): never a panic; an accepted token is
//! non-empty, with a positive lifetime of at most `MAX_EXPIRES_IN` whose end the clock can
//! represent; a refresh or ID token is only noted, never kept or shown.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use hsmjwt_oauth::token::parse_token_response;
use hsmjwt_oauth::{DEFAULT_EXPIRES_IN, ExpiresUnit, ExposeSecret, MAX_EXPIRES_IN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for unit in [ExpiresUnit::Milliseconds, ExpiresUnit::Seconds] {
        if let Ok(token) = parse_token_response(data, unit, "https://ims.example/token", issued) {
            assert!(!token.secret().expose_secret().is_empty());
            assert!(token.expires_in() > Duration::ZERO);
            assert!(token.expires_in() <= MAX_EXPIRES_IN);
            if token.expires_in_assumed() {
                assert_eq!(token.expires_in(), DEFAULT_EXPIRES_IN);
            }
            assert!(token.expires_at().is_some_and(|at| at > issued));
            let _ = (token.scope(), token.has_refresh_token(), token.has_id_token());
            let _ = format!("{token:?}");
        }
    }
});
