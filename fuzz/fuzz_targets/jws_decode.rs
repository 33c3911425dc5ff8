//! The compact JWS decoder without verification: `UnverifiedToken::parse` and its claims,
//! and `decode_insecure`, which must agree with each other; and `jws::inspect` (what
//! `hsmjwt decode` shows), which must never panic, must find no problem in a token the
//! strict decoder accepts and must list the strict decoder's error for one it refuses, and
//! whose printed JSON must be one safe text that reads back as what the strict decoder read.

#![no_main]

use std::collections::BTreeMap;

use hsmjwt_core::jws::inspect;
use hsmjwt_core::text::{Chain, clean, pretty_json};
use hsmjwt_core::{Claims, Header, UnverifiedToken, decode_insecure};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

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
            format!("{:?}", insecure.as_ref().map(drop)),
            format!("{:?}", Err::<(), _>(e))
        ),
    }

    let inspected = inspect(token);
    let seen = match (&insecure, inspected) {
        (Ok(_), Err(e)) => panic!("the strict decoder accepts what inspect refuses: {e:?}"),
        (Err(_), Err(_)) => return,
        (Ok(_), Ok(seen)) => {
            assert!(seen.problems.is_empty(), "{:?}", seen.problems);
            seen
        }
        (Err(strict), Ok(seen)) => {
            let strict = Chain(strict).to_string();
            assert!(
                seen.problems.iter().any(|p| p.to_string() == strict),
                "{strict} not in {:?}",
                seen.problems
            );
            seen
        }
    };
    for problem in &seen.problems {
        let line = problem.to_string();
        assert_eq!(clean(&line, usize::MAX), line);
    }
    let shown = pretty_json(&seen).expect("an inspection serialises");
    assert!(shown.lines().all(|l| clean(l, usize::MAX) == l), "{shown}");
    // One JSON text (its members' values read as text, so that no number is read and no
    // depth is added); what it shows of a token the strict decoder accepts, the strict
    // decoder reads as it read the token.
    let members: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(&shown).expect("decode prints JSON");
    if let Ok(strict) = &insecure {
        let text = |name: &str| members[name].get().as_bytes();
        assert_eq!(Header::from_json(text("header")).ok().as_ref(), Some(&strict.header));
        assert_eq!(Claims::from_json(text("claims")).ok().as_ref(), Some(&strict.claims));
    }
});
