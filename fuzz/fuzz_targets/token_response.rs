//! Token endpoint responses (`hsmjwt_oauth::parse_token_response`), with `expires_in` in
//! milliseconds (Adobe `/ims/exchange/jwt`) and in seconds (RFC 6749): never a panic, and an accepted
//! token is non-empty with a positive lifetime.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use hsmjwt_oauth::token::parse_token_response;
use hsmjwt_oauth::{ExpiresUnit, ExposeSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let issued = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for unit in [ExpiresUnit::Milliseconds, ExpiresUnit::Seconds] {
        if let Ok(token) = parse_token_response(data, unit, "https://ims.example/token", issued) {
            assert!(!token.secret().expose_secret().is_empty());
            assert!(token.expires_in() > Duration::ZERO);
            let _ = token.expires_at();
            let _ = format!("{token:?}");
        }
    }
});
